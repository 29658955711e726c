//! A TCP relay on loopback in front of one testbed host's sshd, that the test can cut: a
//! black hole for one fleet process only (connections stay open, nothing gets through), the way
//! a link cut looks to it, while other processes still reach the host directly.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Proxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (Arc::clone(&cut), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if c.load(Ordering::SeqCst) {
                            // Accepted and never answered, as behind a cut link.
                            held.push(client);
                            continue;
                        }
                        let Ok(server) =
                            TcpStream::connect_timeout(&target, Duration::from_secs(2))
                        else {
                            continue;
                        };
                        let _ = client.set_nonblocking(false);
                        pump(&client, &server, &c, &s);
                        pump(&server, &client, &c, &s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Proxy { port, cut, stop }
    }

    /// From now on nothing gets through, on open connections or new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// New connections get through again; the ones open during the cut stay dead.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either end closes; once the proxy is cut, what
/// arrives is dropped for good on this connection.
fn pump(from: &TcpStream, to: &TcpStream, cut: &Arc<AtomicBool>, stop: &Arc<AtomicBool>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let (cut, stop) = (Arc::clone(cut), Arc::clone(stop));
    let _ = from.set_read_timeout(Some(Duration::from_millis(200)));
    std::thread::spawn(move || {
        let mut dead = false;
        let mut buf = [0u8; 16 * 1024];
        while !stop.load(Ordering::SeqCst) {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    dead |= cut.load(Ordering::SeqCst);
                    if !dead && to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    dead |= cut.load(Ordering::SeqCst);
                }
                Err(_) => break,
            }
        }
        if !dead {
            let _ = to.shutdown(Shutdown::Write);
        }
    });
}
