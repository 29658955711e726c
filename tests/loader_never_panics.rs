//! The loader turns any bytes into a result or diagnostics, never a panic.

use fleet::spec::{MemoryFiles, load};
use proptest::prelude::*;

/// Fragments of real fleet.yaml syntax, so generated inputs reach deep into the decoder
/// instead of failing at the first byte.
const FRAGMENTS: &[&str] = &[
    "project: p\n",
    "hosts:\n",
    "  h: { address: ssh://h, labels: { zone: a } }\n",
    "services:\n",
    "  web:\n",
    "    image: nginx\n",
    "    ports: [\"80:80\", 8080, \"1-3:4-6/udp\"]\n",
    "    deploy: { replicas: 3, placement: { max_replicas_per_node: 1, constraints: [node.labels.zone == a] } }\n",
    "    env_file: [.env, ../x]\n",
    "    volumes: [\"./d:/d:ro\", \"v:/v\", {type: bind, source: x, target: y}]\n",
    "    healthcheck: { test: [CMD], interval: 1m5s }\n",
    "    depends_on: { web: { condition: service_healthy } }\n",
    "include: [a.yaml, a.yaml]\n",
    "x: &a [*a]\n",
    "<<: *b\n",
    "  - \n",
    "? [a]\n: b\n",
    "!!binary x\n",
    "'\n",
    "{\n",
    "]\n",
    "\t",
    "${A}",
    "$$",
    "\u{feff}",
    "---\n",
    "...\n",
    "- - - -\n",
    "*x\n",
    "&x &y z\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let files = MemoryFiles { files: [("fleet.yaml".to_string(), bytes.clone()), ("a.yaml".to_string(), bytes)].into() };
        let loaded = load(&files);
        prop_assert!(loaded.desired.is_some() || !loaded.diagnostics.is_empty());
    }

    #[test]
    fn spliced_fragments_never_panic(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..24)) {
        let text: String = picks.iter().map(|i| FRAGMENTS[*i]).collect();
        let files = MemoryFiles::new([("fleet.yaml", text.as_str()), ("a.yaml", text.as_str()), (".env", "A=1\n")]);
        let loaded = load(&files);
        prop_assert!(loaded.desired.is_some() || !loaded.diagnostics.is_empty());
    }
}
