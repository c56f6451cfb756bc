//! The OpenAPI description is valid 3.1, self-consistent, and describes every route of the
//! router table (read from the source, so a new route without an annotation fails here).

use serde_json::Value;

fn spec_json() -> Value {
    serde_json::to_value(imgtag_http::openapi_spec("/Prod")).unwrap()
}

/// `(path, methods)` of every `.route(...)` in the router sources, axum syntax turned into
/// OpenAPI's (`{*key}` → `{key}`).
fn router_routes() -> Vec<(String, Vec<&'static str>)> {
    let sources = [
        include_str!("../src/routes/mod.rs"),
        include_str!("../src/web.rs"),
    ];
    let mut out = Vec::new();
    for src in sources {
        for chunk in src.split(".route(").skip(1) {
            let path = chunk.split('"').nth(1).expect("route path literal");
            let methods = ["get", "post", "put", "delete"]
                .into_iter()
                .filter(|m| chunk.contains(&format!("{m}(")) || chunk.contains(&format!(".{m}(")))
                .collect();
            out.push((path.replace("{*", "{"), methods));
        }
    }
    out
}

#[test]
fn spec_is_openapi_3_1_and_parses_back() {
    let json = spec_json();
    let version = json["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(json["info"]["title"], "imgtag");
    assert_eq!(json["servers"][0]["url"], "/Prod");
    let back: utoipa::openapi::OpenApi = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(back).unwrap(), json);
}

#[test]
fn every_router_route_is_described_with_its_methods() {
    let json = spec_json();
    let paths = json["paths"].as_object().unwrap();
    let routes = router_routes();
    assert!(routes.len() >= 18, "{routes:?}");
    for (path, methods) in &routes {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the spec"));
        assert!(
            !methods.is_empty(),
            "{path}: no methods found in the source"
        );
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} missing from the spec");
        }
    }
    // And nothing is described that the router does not serve.
    for path in paths.keys() {
        assert!(
            routes.iter().any(|(p, _)| p == path),
            "{path} is described but not routed"
        );
    }
}

#[test]
fn every_reference_resolves_and_protected_routes_need_a_bearer_token() {
    let json = spec_json();
    let schemas = json["components"]["schemas"].as_object().unwrap();
    let text = json.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    assert_eq!(
        json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let list = &json["paths"]["/images"]["get"];
    assert!(list["security"][0].get("bearer").is_some());
    assert!(list["responses"]["401"].is_object());
    assert!(json["paths"]["/signin"]["post"]["security"].is_null());
    for field in ["id", "tags", "fileUrl", "labels", "status"] {
        assert!(
            schemas["ImageView"]["properties"].get(field).is_some(),
            "ImageView.{field}"
        );
    }
}
