//! The `env_file` format as Compose reads it: `NAME=value` lines, `#` comments, optional quotes.

use std::collections::BTreeMap;

use super::decode::Cx;
use super::yaml::Pos;

/// Reports the bad lines `parse` found, each at its line of the file `cx` is about.
pub fn report(cx: &mut Cx, errors: Vec<(u32, String)>) {
    for (line, message) in errors {
        cx.error(
            Pos {
                line,
                col: 1,
                file: 0,
            },
            "",
            message,
            "NAME=value, a # comment or an empty line",
        );
    }
}

/// Parses an env file. On failure, returns every bad line with its 1-based number and why.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, Vec<(u32, String)>> {
    let mut vars = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((name, value)) = line.split_once('=') else {
            // The line is not echoed: it may hold a secret.
            errors.push((line_no, "this line is not NAME=value".to_string()));
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            errors.push((
                line_no,
                "the text before `=` is not a variable name".to_string(),
            ));
            continue;
        }
        match unquote(value.trim()) {
            Ok(v) => {
                vars.insert(name.to_string(), v);
            }
            Err(why) => errors.push((line_no, why)),
        }
    }
    if errors.is_empty() {
        Ok(vars)
    } else {
        Err(errors)
    }
}

fn unquote(value: &str) -> Result<String, String> {
    if let Some(rest) = value.strip_prefix('\'') {
        return match rest.find('\'') {
            Some(end) => Ok(rest[..end].to_string()),
            None => Err("unterminated single quote".into()),
        };
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Ok(out),
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated double quote".into());
    }
    // An unquoted value ends at an inline comment, as in Compose.
    let value = match value.find(" #") {
        Some(i) => &value[..i],
        None => value,
    };
    Ok(value.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compose_env_files() {
        let vars =
            parse("# c\nA=1\nexport B = two \nC='x # y'\nD=\"a\\nb\"\nE=v # note\nF=\n").unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two");
        assert_eq!(vars["C"], "x # y");
        assert_eq!(vars["D"], "a\nb");
        assert_eq!(vars["E"], "v");
        assert_eq!(vars["F"], "");
    }

    #[test]
    fn reports_every_bad_line() {
        let errors = parse("A=1\nnot a var\nB='open\n").unwrap_err();
        assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), vec![2, 3]);
    }
}
