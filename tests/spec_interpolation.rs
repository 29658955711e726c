//! Compose interpolation in every file of the desired state: values only from the commit
//! (`variables:` in fleet.yaml, the `.env` beside each file), errors at the scalar that uses an
//! unset variable, and never a variable's value in a message.

use fleet::spec::model::Mount;
use fleet::spec::{Desired, MemoryFiles, load};

fn ok(files: &[(&str, &str)]) -> Desired {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    loaded.desired.expect("a desired state")
}

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    assert!(loaded.desired.is_none(), "expected errors");
    loaded.diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn interpolated_values_resolve_in_every_field_that_misread_them_before() {
    let desired = ok(&[(
        "fleet.yaml",
        "project: shop
variables:
  DATA: pgdata
  TAG: \"1.27\"
services:
  web:
    image: nginx:${TAG}
    user: \"${UID:-1000}:0\"
    ports: [\"${PORT:-8080}:80\"]
    volumes:
      - ${DATA}:/data
  worker:
    image: worker
    deploy:
      replicas: ${N:-2}
volumes:
  pgdata:
",
    )]);
    let web = &desired.services["web"];
    assert_eq!(web.image, "nginx:1.27");
    assert_eq!(web.user.as_deref(), Some("1000:0"));
    assert_eq!(web.ports[0].published, Some(8080));
    assert_eq!(web.ports[0].target, 80);
    assert!(
        matches!(&web.volumes[0], Mount::Volume { source: Some(s), .. } if s == "pgdata"),
        "{:?}",
        web.volumes
    );
    assert_eq!(desired.services["worker"].deploy.replicas, 2);
}

#[test]
fn an_interpolated_scalar_is_typed_after_interpolation_and_never_null() {
    let desired = ok(&[
        (
            "fleet.yaml",
            "project: shop
services:
  web:
    image: \"${IMAGE}\"
    init: ${INIT}
    environment:
      EMPTY: ${EMPTY}
      QUOTED_NUMBER: \"${N}\"
    deploy:
      replicas: \"${N}\"
",
        ),
        (".env", "IMAGE=1.10\nINIT=true\nEMPTY=\nN=3\n"),
    ]);
    let web = &desired.services["web"];
    assert_eq!(web.image, "1.10");
    assert_eq!(web.init, Some(true));
    assert_eq!(web.environment["EMPTY"], "");
    assert_eq!(web.environment["QUOTED_NUMBER"], "3");
    assert_eq!(web.deploy.replicas, 3);
}

#[test]
fn variables_in_fleet_yaml_win_over_the_env_file() {
    let desired = ok(&[
        (
            "fleet.yaml",
            "project: shop\nvariables: { TAG: from-variables }\nservices:\n  web: { image: \"app:${TAG}-${OTHER}\" }\n",
        ),
        (".env", "TAG=from-dotenv\nOTHER=dotenv\n"),
    ]);
    assert_eq!(desired.services["web"].image, "app:from-variables-dotenv");
}

#[test]
fn an_included_file_reads_the_env_file_beside_it() {
    let desired = ok(&[
        (
            "fleet.yaml",
            "project: shop\nvariables: { REGISTRY: reg.example.com }\ninclude: [app/compose.yaml]\n",
        ),
        (
            "app/compose.yaml",
            "services:\n  api:\n    image: ${REGISTRY}/api:${API_TAG}\n",
        ),
        ("app/.env", "API_TAG=4.2\n"),
        (".env", "API_TAG=not-this-one\n"),
    ]);
    assert_eq!(desired.services["api"].image, "reg.example.com/api:4.2");
}

#[test]
fn dollar_dollar_is_a_literal_dollar_and_no_variable() {
    let desired = ok(&[(
        "fleet.yaml",
        "project: shop\nservices:\n  web:\n    image: nginx\n    command: [\"sh\", \"-c\", \"echo $$HOME $${X}\"]\n    environment: { PRICE: \"$$5\" }\n",
    )]);
    let web = &desired.services["web"];
    assert_eq!(
        web.command.as_deref().unwrap()[2],
        "echo $HOME ${X}".to_string()
    );
    assert_eq!(web.environment["PRICE"], "$5");
}

#[test]
fn an_unset_variable_reads_as_empty_with_a_warning_and_a_required_one_is_an_error() {
    let files = [
        ("fleet.yaml", "project: shop\ninclude: [app/compose.yaml]\n"),
        (
            "app/compose.yaml",
            "services:\n  api:\n    image: nginx\n    environment:\n      - A=x${UNSET}y\n",
        ),
    ];
    let loaded = load(&MemoryFiles::new(files));
    let desired = loaded.desired.expect("only a warning");
    assert_eq!(desired.services["api"].environment["A"], "xy");
    let got: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with(
            "app/compose.yaml:5:9: warning: services.api.environment[0]: variable `UNSET` is not set: it reads as the empty string, as in Compose\n  hint: set `UNSET` under `variables:` in fleet.yaml or in `app/.env`"
        ),
        "{got:#?}"
    );

    let got = problems(&[
        ("fleet.yaml", "project: shop\ninclude: [app/compose.yaml]\n"),
        (
            "app/compose.yaml",
            "services:\n  api:\n    image: nginx\n    environment:\n      - A=${REQUIRED:?set the API key}\n",
        ),
    ]);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with(
            "app/compose.yaml:5:9: error: services.api.environment[0]: variable `REQUIRED` is required and not set: set the API key"
        ),
        "{got:#?}"
    );
}

#[test]
fn environment_entries_without_a_value_take_the_variable_or_are_left_out_with_a_warning() {
    let desired = ok(&[
        (
            "fleet.yaml",
            "project: shop\nvariables: { FROM_VARS: v }\nservices:\n  web:\n    image: nginx\n    environment: [FROM_VARS, FROM_DOTENV]\n  api:\n    image: nginx\n    environment:\n      FROM_VARS:\n      EMPTY: ${NOPE:-}\n",
        ),
        (".env", "FROM_DOTENV=d\n"),
    ]);
    assert_eq!(desired.services["web"].environment["FROM_VARS"], "v");
    assert_eq!(desired.services["web"].environment["FROM_DOTENV"], "d");
    assert_eq!(desired.services["api"].environment["FROM_VARS"], "v");
    // An empty default is an empty value, not a missing one.
    assert_eq!(desired.services["api"].environment["EMPTY"], "");

    // As Compose leaves out a variable its shell does not set, with one warning per list.
    let loaded = load(&MemoryFiles::new([(
        "fleet.yaml",
        "project: shop\nservices:\n  web:\n    image: nginx\n    environment: [NOPE, ALSO, SET=1]\n",
    )]));
    let desired = loaded.desired.expect("valid");
    let env = &desired.services["web"].environment;
    assert_eq!(env.keys().collect::<Vec<_>>(), ["SET"]);
    let got: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with(
            "fleet.yaml:5:18: warning: services.web.environment: `NOPE`, `ALSO` have no value and no variable of the commit sets them: left out of the container's environment, as Compose does\n  hint: to pass a value, write it, or set `NOPE` under `variables:` in fleet.yaml or in `.env`"
        ),
        "{got:#?}"
    );
}

#[test]
fn a_variables_value_never_appears_in_a_message() {
    let secret = "hunter2-very-secret";
    let got = problems(&[
        (
            "fleet.yaml",
            "project: shop\nservices:\n  web:\n    image: \"nginx:${PW}\"\n    hostname: ${PW}\n    ports: [\"${PW}:80\"]\n    deploy: { replicas: \"${PW}\" }\n",
        ),
        (".env", &format!("PW={secret}\n")),
    ]);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].contains("`${PW}` is not a port"), "{got:#?}");
    for p in &got {
        assert!(!p.contains(secret), "a value leaked: {p}");
        assert!(!p.contains("hunter2"), "a value leaked: {p}");
    }
    let got = problems(&[
        ("fleet.yaml", "project: shop\nservices: {}\n"),
        (".env", &format!("BROKEN LINE {secret}\n")),
    ]);
    assert_eq!(
        got,
        [
            ".env:1:1: error: this line is not NAME=value; expected NAME=value, a # comment or an empty line"
        ]
    );
}

#[test]
fn a_flow_sequence_closed_at_the_keys_indentation_is_valid_yaml() {
    let desired = ok(&[(
        "fleet.yaml",
        "project: shop
services:
  web:
    image: nginx
    command: [
      \"sh\", \"-c\", \"echo hi\"
    ]
    environment: {
      A: b
    }
",
    )]);
    let web = &desired.services["web"];
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["sh", "-c", "echo hi"].map(String::from)
    );
    assert_eq!(web.environment["A"], "b");
}

#[test]
fn variables_must_be_a_mapping_of_names_and_are_taken_as_written() {
    let got = problems(&[(
        "fleet.yaml",
        "project: shop\nvariables:\n  1BAD: x\nservices: {}\n",
    )]);
    assert_eq!(
        got,
        [
            "fleet.yaml:3:3: error: variables.1BAD: `1BAD` is not a variable name; expected letters, digits and `_`, not starting with a digit"
        ]
    );
    let desired = ok(&[(
        "fleet.yaml",
        "project: shop\nvariables: { PRICE: \"$$5\", N: 3 }\nservices:\n  web: { image: nginx, environment: [\"P=${PRICE}\", \"N=${N}\"] }\n",
    )]);
    assert_eq!(desired.services["web"].environment["P"], "$$5");
    assert_eq!(desired.services["web"].environment["N"], "3");
}
