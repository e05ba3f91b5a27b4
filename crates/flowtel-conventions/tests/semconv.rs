//! Importing OpenTelemetry's semantic conventions v1.44.0 (`../shared/semconv/model`): the
//! whole model resolves, known items come out as OpenTelemetry defines them, flowtel layers
//! build on it under the `FT04xx` rules, and the bundled conventions agree with it.
//!
//! These tests need the model folder; when it is absent they print why and return.

use std::path::{Path, PathBuf};

use flowtel_conventions::{
    AttributeType, Finding, Instrument, Loaded, Registry, Requirement, Severity, SpanKind,
    Stability, check,
};

fn model() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/semconv/model");
    if dir.join("manifest.yaml").is_file() {
        Some(dir.canonicalize().unwrap_or(dir))
    } else {
        eprintln!(
            "SKIPPED: the semantic-conventions model is not at {} (clone of the shared reference material)",
            dir.display()
        );
        None
    }
}

/// Writes `text` as `flowtel.yaml` in a temp dir, with `{model}` replaced, and checks it.
fn layer(text: &str, model: &Path) -> (tempfile::TempDir, Loaded) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flowtel.yaml");
    std::fs::write(&path, text.replace("{model}", &model.display().to_string())).unwrap();
    let loaded = check(&path);
    (dir, loaded)
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.id).collect()
}

fn whole(model: &Path) -> (Registry, Vec<Finding>) {
    let loaded = check(model);
    (loaded.registry.expect("the model loads"), loaded.findings)
}

#[test]
fn the_whole_model_resolves_with_only_real_problems_reported() {
    let Some(model) = model() else { return };
    let (reg, findings) = whole(&model);
    let m = &reg.semconv[0].model;
    assert_eq!(m.version.as_deref(), Some("1.44.0"));
    assert_eq!(m.files.len(), 250);
    assert_eq!(reg.attributes.len(), 940);
    assert_eq!(reg.metrics.len(), 541);
    assert_eq!(reg.spans.len(), 113);
    assert_eq!(m.events.len(), 32);
    assert_eq!(m.entities.len(), 64);
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    // The only findings: `rpm` is not a UCUM unit (UCUM spells it `{rev}/min`).
    let described: Vec<String> = findings
        .iter()
        .map(|f| {
            let l = f.location.as_ref().unwrap();
            format!(
                "{} {}:{}:{}",
                f.rule.id,
                l.file.rsplit("model/").next().unwrap(),
                l.line,
                l.column
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            "FT0019 hardware/fan-metrics.yaml:16:11",
            "FT0019 hardware/fan-metrics.yaml:30:11"
        ]
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn http_request_method_is_an_open_enum_with_its_members() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let a = &reg.attributes["http.request.method"];
    assert_eq!(a.ty, AttributeType::Enum);
    assert!(a.open, "semantic-conventions enums accept other values");
    assert_eq!(
        a.values,
        [
            "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
            "QUERY", "_OTHER"
        ]
    );
    assert_eq!(a.stability, Some(Stability::Stable));
    assert_eq!(a.brief.as_deref(), Some("HTTP request method."));
}

#[test]
fn http_server_request_duration_is_a_histogram_in_seconds_with_required_labels() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let m = &reg.metrics["http.server.request.duration"];
    assert_eq!(m.instrument, Instrument::Histogram);
    assert_eq!(m.unit, "s");
    assert_eq!(m.stability, Some(Stability::Stable));
    // Through `extends: metric_attributes.http.server` -> `attributes.http.server` ->
    // `attributes.http.common`.
    assert_eq!(m.required_labels, ["http.request.method", "url.scheme"]);
    assert_eq!(
        reg.required_labels("http.server.request.duration"),
        m.required_labels
    );
    for l in [
        "http.route",
        "http.response.status_code",
        "error.type",
        "server.port",
        "user_agent.synthetic.type",
    ] {
        assert!(m.labels.iter().any(|x| x == l), "{l} in {:?}", m.labels);
    }
    let uses = &reg.semconv[0].model.metrics["http.server.request.duration"].attributes;
    let route = uses.iter().find(|u| u.name == "http.route").unwrap();
    assert_eq!(route.requirement, Requirement::ConditionallyRequired);
    let port = uses.iter().find(|u| u.name == "server.port").unwrap();
    assert_eq!(
        port.requirement,
        Requirement::OptIn,
        "the metric group overrides the span's level"
    );
    // Provenance: the metric's origin is OpenTelemetry's file.
    let f = reg.origins.metrics["http.server.request.duration"];
    assert!(reg.is_semconv_file(f));
    assert!(reg.sources.file(f).display.ends_with("http/metrics.yaml"));
}

#[test]
fn renamed_attributes_and_metrics_name_their_replacement() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let d = reg.deprecation_of("http.method").expect("deprecated");
    assert_eq!(d.renamed_to(), Some("http.request.method"));
    assert_eq!(
        reg.replacement_of("http.method"),
        Some("http.request.method")
    );
    assert_eq!(
        reg.replacement_of("http.status_code"),
        Some("http.response.status_code")
    );
    assert_eq!(reg.replacement_of("http.request.method"), None);
    // Obsoleted: deprecated without a replacement, with a note.
    let target = reg.attribute_deprecation("http.target").unwrap();
    assert_eq!(target.renamed_to(), None);
    assert!(
        target.describe().contains("url.path"),
        "{}",
        target.describe()
    );
    // Metrics too.
    let renamed = reg
        .metrics
        .iter()
        .find(|(_, m)| {
            m.deprecated
                .as_ref()
                .is_some_and(|d| d.renamed_to().is_some())
        })
        .map(|(n, _)| n.clone())
        .expect("a renamed metric");
    let to = reg.replacement_of(&renamed).unwrap();
    assert!(reg.metrics.contains_key(to));
    assert!(reg.metric_deprecation(to).is_none());
}

#[test]
fn db_system_name_and_template_and_array_types() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let db = &reg.attributes["db.system.name"];
    assert_eq!(db.ty, AttributeType::Enum);
    assert!(db.values.iter().any(|v| v == "postgresql"));
    assert_eq!(
        reg.attributes["http.request.header"].ty,
        AttributeType::Template
    );
    let (name, _) = reg
        .attribute_for_key("http.request.header.content-type")
        .unwrap();
    assert_eq!(name, "http.request.header");
    assert!(reg.attribute_for_key("http.nothing.here").is_none());
    assert_eq!(
        reg.attributes["container.command_args"].ty,
        AttributeType::StringArray
    );
    assert_eq!(reg.attributes["server.port"].ty, AttributeType::Int);
    // Integer enum.
    let grpc = &reg.semconv[0].model.attributes["rpc.grpc.status_code"];
    assert!(grpc.int_values);
}

#[test]
fn definition_2_files_refinements_and_anchors_resolve() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    // Top-level `attributes` keyed by `key` (server/registry.yaml).
    let f = reg.origins.attributes["server.address"];
    assert!(
        reg.sources
            .file(f)
            .display
            .ends_with("server/registry.yaml")
    );
    // A span refinement inherits the refined span's attributes.
    let kafka = &reg.spans["span.messaging.kafka.create.producer"];
    assert_eq!(kafka.kind, Some(SpanKind::Producer));
    assert!(
        kafka
            .attributes
            .iter()
            .any(|a| a == "messaging.kafka.message.key")
    );
    assert!(
        kafka
            .attributes
            .iter()
            .any(|a| a == "messaging.operation.name")
    );
    // `ref_group` of an internal group, in a file that uses anchors.
    let faas = &reg.spans["faas.datasource.server"];
    assert!(faas.required_attributes.iter().any(|a| a == "faas.trigger"));
    assert!(
        faas.required_attributes
            .iter()
            .any(|a| a == "faas.document.collection")
    );
    // A metric refinement adds attributes to the metric it refines.
    assert!(
        reg.metrics["hw.status"]
            .labels
            .iter()
            .any(|l| l == "hw.sensor_location")
    );
    // v2 metrics.
    assert_eq!(
        reg.metrics["hw.fan.speed_ratio"].instrument,
        Instrument::Gauge
    );
}

#[test]
fn span_conventions_are_found_from_kind_and_keys() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let keys = [
        "http.request.method",
        "url.path",
        "url.scheme",
        "http.route",
        "server.address",
    ];
    let (id, span) = reg
        .span_convention_for(SpanKind::Server, |k| keys.contains(&k))
        .unwrap();
    assert_eq!(id, "span.http.server");
    assert_eq!(reg.required_span_attributes(id), span.required_attributes);
    assert!(
        span.required_attributes
            .iter()
            .any(|a| a == "http.request.method")
    );
    assert!(
        reg.span_convention_for(SpanKind::Server, |_| false)
            .is_none()
    );
}

#[test]
fn a_layer_may_narrow_semconv_names_and_add_its_own() {
    let Some(model) = model() else { return };
    let (_d, loaded) = layer(
        "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: '{model}', only: [http, url, server, error]}]\n\
attributes:\n  http.route: {type: string, max_values: 200}\n  http.request.method: {type: string}\n  acme.tenant: {type: string, pii: true, redact: hash}\n\
metrics:\n  http.server.request.duration: {instrument: histogram, unit: s, labels: [http.request.method, url.scheme, http.route], buckets: [0.1, 0.5, 1]}\n  acme.orders: {instrument: counter, unit: '{order}', labels: [http.route]}\n",
        &model,
    );
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    let route = &reg.attributes["http.route"];
    assert_eq!(route.max_values, Some(200));
    assert_eq!(
        route.stability,
        Some(Stability::Stable),
        "narrowing keeps OpenTelemetry's facts"
    );
    assert!(route.brief.is_some());
    let m = &reg.metrics["http.server.request.duration"];
    assert_eq!(m.required_labels, ["http.request.method", "url.scheme"]);
    // `only` took http, and what http's metrics use, not db.
    assert!(reg.attributes.contains_key("server.port"));
    assert!(reg.attributes.contains_key("user_agent.synthetic.type"));
    assert!(!reg.attributes.contains_key("db.system.name"));
    assert!(!reg.metrics.contains_key("db.client.operation.duration"));
    assert!(reg.semconv_owns("http.anything"));
    assert!(!reg.semconv_owns("acme.tenant"));
}

#[test]
fn redefining_a_semconv_name_is_an_error_naming_both_places() {
    let Some(model) = model() else { return };
    let (_d, loaded) = layer(
        "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: '{model}', only: [http]}]\n\
attributes:\n  http.response.status_code: {type: string}\n\
metrics:\n  http.server.request.duration: {instrument: histogram, unit: ms}\n",
        &model,
    );
    let f: Vec<&Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0401")
        .collect();
    assert_eq!(f.len(), 2, "{:#?}", loaded.findings);
    assert!(f.iter().all(|f| f.severity == Severity::Error));
    let attr = f
        .iter()
        .find(|f| f.message.contains("http.response.status_code"))
        .unwrap();
    assert_eq!(attr.location.as_ref().unwrap().line, 6);
    let there = &attr.related[0].location;
    assert!(there.file.ends_with("http/registry.yaml"), "{there:?}");
    assert!(there.line > 1);
    let metric = f
        .iter()
        .find(|f| f.message.contains("request.duration"))
        .unwrap();
    assert!(
        metric
            .message
            .contains("`histogram ms` here, `histogram s`"),
        "{}",
        metric.message
    );
    assert!(
        metric.related[0]
            .location
            .file
            .ends_with("http/metrics.yaml")
    );
}

#[test]
fn new_names_in_owned_namespaces_and_deprecated_names_are_reported() {
    let Some(model) = model() else { return };
    let (_d, loaded) = layer(
        "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: '{model}'}]\n\
attributes:\n  http.tenant: {type: string}\n  http.method: {type: string}\n\
metrics:\n  acme.checkout.duration: {instrument: histogram, unit: s, labels: [http.status_code, http.tenant]}\n  db.acme.pool.waits: {instrument: counter, unit: '{wait}'}\n",
        &model,
    );
    let got = rules(&loaded.findings);
    assert_eq!(
        got.iter().filter(|r| **r == "FT0402").count(),
        2,
        "http.tenant and db.acme.pool.waits: {:#?}",
        loaded.findings
    );
    let dep: Vec<&Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0403")
        .collect();
    assert_eq!(dep.len(), 2, "{dep:#?}");
    let declared = dep
        .iter()
        .find(|f| f.subject["attribute"] == "http.method")
        .unwrap();
    assert_eq!(declared.subject["replacement"], "http.request.method");
    assert_eq!(declared.location.as_ref().unwrap().line, 7);
    let label = dep
        .iter()
        .find(|f| f.subject["attribute"] == "http.status_code")
        .unwrap();
    assert!(
        label
            .message
            .contains("use `http.response.status_code` instead"),
        "{}",
        label.message
    );
    assert_eq!(label.location.as_ref().unwrap().line, 9);
    // Problems inside OpenTelemetry's files are warnings for an importing layer.
    assert!(
        loaded
            .findings
            .iter()
            .filter(|f| f
                .location
                .as_ref()
                .is_some_and(|l| l.file.contains("semconv/model")))
            .all(|f| f.severity == Severity::Warning)
    );
}

#[test]
fn bundled_conventions_agree_with_semconv() {
    let Some(model) = model() else { return };
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let bundled = bundled.canonicalize().unwrap();
    // The bundled registry stays self-contained.
    for entry in std::fs::read_dir(&bundled).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains("semconv:"),
            "the bundled conventions must not import semconv"
        );
    }
    let (_d, loaded) = layer(
        &format!(
            "schema: flowtel/v1\nname: both\nversion: 1.0.0\nimports: [{{semconv: '{{model}}'}}, '{}']\n",
            bundled.display()
        ),
        &model,
    );
    // No conflict: no name redefined, none new in an OpenTelemetry namespace, none deprecated.
    let conflicts: Vec<&Finding> = loaded
        .findings
        .iter()
        .filter(|f| {
            f.severity >= Severity::Error
                || ["FT0008", "FT0401", "FT0402", "FT0403"].contains(&f.rule.id)
        })
        .collect();
    assert!(conflicts.is_empty(), "{conflicts:#?}");
    // The bundled HTTP duration metrics carry every label v1.44.0 requires.
    let gaps: Vec<&Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0404")
        .collect();
    assert!(gaps.is_empty(), "{gaps:#?}");
    let reg = loaded.registry.unwrap();
    // Every bundled name that semconv defines was checked against it.
    for name in [
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "server.address",
        "server.port",
        "url.scheme",
        "url.path",
        "error.type",
        "service.name",
    ] {
        assert!(reg.semconv[0].model.attributes.contains_key(name), "{name}");
        assert!(
            !reg.is_semconv_file(reg.origins.attributes[name]),
            "{name} narrowed by the bundled layer"
        );
    }
    for name in [
        "http.server.request.duration",
        "http.client.request.duration",
    ] {
        assert!(reg.semconv[0].model.metrics.contains_key(name));
        assert!(!reg.metrics[name].required_labels.is_empty());
    }
}

#[test]
fn a_missing_model_folder_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flowtel.yaml");
    std::fs::write(
        &path,
        "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: no/such/model}]\n",
    )
    .unwrap();
    let loaded = check(&path);
    assert_eq!(rules(&loaded.findings), ["FT0002"]);
    assert_eq!(loaded.findings[0].location.as_ref().unwrap().line, 4);
}

#[test]
fn a_small_registry_with_problems_reports_each_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("acme")).unwrap();
    std::fs::write(
        model.join("manifest.yaml"),
        "schema_url: https://example.com/schemas/2.1.0\n",
    )
    .unwrap();
    std::fs::write(
        model.join("acme/registry.yaml"),
        "groups:\n  - id: registry.acme\n    type: attribute_group\n    attributes:\n      - id: acme.tier\n        type: strng\n      - id: acme.region\n        type: string\n",
    )
    .unwrap();
    std::fs::write(
        model.join("acme/metrics.yaml"),
        "file_format: definition/2\nmetrics:\n  - name: acme.requests\n    instrument: counter\n    unit: '{request}'\n    attributes:\n      - ref: acme.region\n        requirement_level: required\n      - ref: acme.zone\n      - ref_group: acme.missing\n",
    )
    .unwrap();
    let loaded = check(&model);
    let got: Vec<(String, u32)> = loaded
        .findings
        .iter()
        .map(|f| (f.rule.id.to_string(), f.location.as_ref().unwrap().line))
        .collect();
    assert_eq!(
        got,
        [
            ("FT0405".to_string(), 9),
            ("FT0405".to_string(), 10),
            ("FT0406".to_string(), 6)
        ],
        "{:#?}",
        loaded.findings
    );
    let reg = loaded.registry.unwrap();
    assert_eq!(reg.version, "2.1.0");
    assert_eq!(reg.required_labels("acme.requests"), ["acme.region"]);
}

#[test]
fn linter_checks_name_deprecations_and_missing_required_attributes() {
    use flowtel_conventions::semconv::lint;
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    let f = lint::deprecated_attribute(&reg, "http.method", "emit").unwrap();
    assert_eq!(f.rule.id, "FT0403");
    assert_eq!(f.subject["replacement"], "http.request.method");
    assert_eq!(
        f.help.as_deref(),
        Some("emit `http.request.method` instead of `http.method`")
    );
    assert!(lint::deprecated_attribute(&reg, "http.request.method", "emit").is_none());
    assert!(lint::deprecated_attribute(&reg, "acme.unknown", "emit").is_none());
    let f =
        lint::missing_required_labels(&reg, "http.server.request.duration", |k| k == "url.scheme")
            .unwrap();
    assert_eq!(f.rule.id, "FT0404");
    assert_eq!(f.subject["missing"], "http.request.method");
    assert!(
        lint::missing_required_labels(&reg, "http.server.request.duration", |k| {
            k == "url.scheme" || k == "http.request.method"
        })
        .is_none()
    );
    let keys = [
        "http.request.method",
        "http.route",
        "url.scheme",
        "server.address",
    ];
    let f = lint::missing_span_attributes(&reg, "GET /checkout", SpanKind::Server, |k| {
        keys.contains(&k)
    })
    .unwrap();
    assert_eq!(f.subject["convention"], "span.http.server");
    assert_eq!(f.subject["missing"], "url.path");
}

#[test]
fn embedded_registries_import_semconv_from_the_embedded_files() {
    let files = [
        (
            "conv/flowtel.yaml",
            "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: ../model}]\nattributes:\n  acme.tier: {type: string}\n",
        ),
        (
            "model/manifest.yaml",
            "schema_url: https://opentelemetry.io/schemas/1.44.0\n",
        ),
        (
            "model/acme/registry.yaml",
            "file_format: definition/2\nattributes:\n  - key: shop.region\n    type: string\n    stability: stable\n",
        ),
    ];
    let loaded = flowtel_conventions::load::load_embedded("conv/flowtel.yaml", &files);
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    assert_eq!(reg.name, "acme");
    assert_eq!(
        reg.attributes["shop.region"].stability,
        Some(Stability::Stable)
    );
    assert!(reg.is_semconv_file(reg.origins.attributes["shop.region"]));
}

#[test]
fn event_groups_import_as_events_with_their_attributes() {
    let Some(model) = model() else { return };
    let (reg, _) = whole(&model);
    assert_eq!(reg.events.len(), 32);
    let crash = &reg.events["app.crash"];
    assert!(crash.attributes.iter().any(|a| a == "exception.type"));
    assert_eq!(crash.stability, Some(Stability::Development));
    // `only` takes a namespace's events and the attributes they use; a layer adds its own
    // event over them, referencing imported attributes.
    let (_d, loaded) = layer(
        "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{semconv: '{model}', only: [app]}]\n\
events:\n  acme.cart.saved: {severity: info, attributes: [exception.type]}\n",
        &model,
    );
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    assert!(reg.events.contains_key("app.crash"));
    assert!(reg.events.contains_key("acme.cart.saved"));
    assert!(!reg.events.contains_key("exception"));
    assert!(reg.attributes.contains_key("app.crash.id"));
    // The event's place is OpenTelemetry's file.
    let f = reg.origins.events["app.crash"];
    assert!(reg.sources.file(f).path.ends_with("app/events.yaml"));
}
