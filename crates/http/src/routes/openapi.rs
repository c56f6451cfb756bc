//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations and
//! the typed answers in `views`, so it follows the code. A test checks that every route in the
//! router table (`routes/mod.rs`, `web.rs`) is described here.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Spec, Server};
use utoipa::{Modify, OpenApi};

use super::{accounts, docs, files, images, meta, tags, upload};
use crate::error::ErrorBody;
use crate::views::{BoxView, ImageList, ImageView, LabelView, Message, SessionView};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "imgtag",
        description = "An image-tagging API: sign up and in, upload images through pre-signed \
            uploads, every upload is tagged automatically, then list tags and find images by tag. \
            Errors are `{\"message\", \"code\"}`; 401 answers carry `WWW-Authenticate: Bearer`. \
            JSON request bodies are read as JSON whatever the client declares among: no \
            `Content-Type`, `application/json` or `application/*+json` (any parameters), \
            `text/plain`, `application/x-www-form-urlencoded` (as the original API Gateway + \
            Lambda stack did); any other declared type is 415 `unsupported-media-type`, and \
            malformed JSON is 400 `invalid-json`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        meta::index, meta::healthz,
        accounts::signup, accounts::signin, accounts::refresh, accounts::jwks,
        upload::create, images::list, images::get_one, images::delete,
        images::add_tag, images::remove_tag, images::retag,
        tags::list, tags::images_by_tag,
        upload::post_form, upload::put_object, files::get_file,
        docs::spec_json, docs::page, docs::asset,
        crate::web::page, crate::web::asset,
    ),
    components(schemas(
        ErrorBody, Message, SessionView, ImageView, LabelView, BoxView, ImageList, tags::TagList,
        accounts::Credentials, accounts::RefreshBody,
        upload::UploadRequest, upload::UploadTicket, upload::FormConfig, upload::UploadForm,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Sign up, sign in, sessions"),
        (name = "images", description = "Uploads, listing and tags of the caller's images"),
        (name = "tags", description = "The caller's tags"),
        (name = "uploads", description = "Upload target and file URLs (signed, no Bearer token)"),
        (name = "meta", description = "Self-description, health, docs, web page"),
    ),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, spec: &mut Spec) {
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The description, with the server URL set to the base path so "Try it out" on `/docs` calls
/// the API it was served by.
pub fn spec(base_path: &str) -> Spec {
    let mut spec = ApiDoc::openapi();
    let url = if base_path.is_empty() { "/" } else { base_path };
    spec.servers = Some(vec![Server::new(url)]);
    spec
}
