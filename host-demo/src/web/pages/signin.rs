//! Signing in and out from the pages, and the invite page where a new user
//! picks a handle and a password.

use super::{layout, notice, see_other};
use crate::web::auth::{self, Client, SignedIn};
use crate::web::error::{PageResult, WebError};
use crate::web::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bincio_state::{SecretString, UserHandle};
use maud::html;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { see_other("/settings/importers") }))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/invite/{token}", get(invite_page).post(accept_invite))
}

fn signin_form(message: Option<&str>) -> Response {
    layout(
        "Sign in",
        None,
        html! {
            @if let Some(m) = message { p class="error" role="alert" id="signin-error" { (m) } }
            form id="signin-form" method="post" action="/signin" {
                p {
                    label for="handle" { "Handle" }
                    input id="handle" name="handle" type="text" autocomplete="username" autocapitalize="none" required;
                }
                p {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button id="signin-submit" type="submit" { "Sign in" }
            }
        },
    )
    .into_response()
}

async fn signin_page() -> Response {
    signin_form(None)
}

#[derive(Deserialize)]
struct SignInForm {
    handle: String,
    password: String,
}

async fn signin(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    if let Err(e) = auth::check_same_origin(&headers) {
        return Ok((e.status(), signin_form(Some(&e.to_string()))).into_response());
    }
    let Form(form) =
        form.map_err(|e| WebError::BadRequest(format!("the sign-in form was malformed: {e}")))?;
    let old = auth::session_cookie(&headers);
    match auth::sign_in(
        &state,
        client,
        old,
        &form.handle,
        SecretString::new(form.password),
    )
    .await
    {
        Ok(signed) => {
            let mut response = see_other("/settings/importers");
            response.headers_mut().insert(
                header::SET_COOKIE,
                auth::set_cookie(
                    &signed.session_id,
                    client.https,
                    state.config.session_ttl.as_secs(),
                ),
            );
            Ok(response)
        }
        Err(e @ (WebError::Refused(_) | WebError::TooMany { .. })) => {
            let status = e.status();
            Ok((status, signin_form(Some(&e.to_string()))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn signout(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    form: Result<Form<CsrfOnly>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let field = form.ok().and_then(|Form(f)| f.csrf);
    signed.check_form_csrf(&headers, field.as_deref())?;
    auth::sign_out(&state, &signed)?;
    let mut response = see_other("/signin");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie(signed.client.https));
    Ok(response)
}

fn invite_form(token: &str, message: Option<&str>) -> Response {
    layout(
        "Join this server",
        None,
        html! {
            (notice(None))
            @if let Some(m) = message { p class="error" role="alert" id="invite-error" { (m) } }
            form id="invite-form" method="post" action={ "/invite/" (token) } {
                p {
                    label for="new-handle" { "Handle (lowercase letters, digits, - and _)" }
                    input id="new-handle" name="handle" type="text" autocomplete="username" required maxlength="32";
                }
                p {
                    label for="new-password" { "Password (at least 10 characters)" }
                    input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="10";
                }
                button id="invite-submit" type="submit" { "Create my account" }
            }
        },
    )
    .into_response()
}

async fn invite_page(State(state): State<AppState>, Path(token): Path<String>) -> PageResult {
    if state
        .host
        .db
        .open_invite(&auth::token_hash(&token), state.host.now())?
        .is_none()
    {
        return Err(WebError::NotFound(bincio_state::StateError::InviteInvalid.to_string()).into());
    }
    Ok(invite_form(&token, None))
}

#[derive(Deserialize)]
struct InviteForm {
    handle: String,
    password: String,
}

/// The shortest password a new account may pick.
pub const MIN_PASSWORD_LEN: usize = 10;

async fn accept_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<InviteForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) =
        form.map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?;
    let handle = match UserHandle::parse(form.handle.trim()) {
        Ok(h) => h,
        Err(e) => return Ok(invite_form(&token, Some(&e.to_string()))),
    };
    if form.password.chars().count() < MIN_PASSWORD_LEN {
        return Ok(invite_form(
            &token,
            Some("the password needs at least 10 characters"),
        ));
    }
    let password = SecretString::new(form.password);
    let hash = state.passwords.hash(password).await?;
    match state
        .host
        .db
        .accept_invite(&auth::token_hash(&token), &handle, &hash, state.host.now())
    {
        Ok(_) => Ok(see_other("/signin")),
        Err(e @ bincio_state::StateError::UserExists { .. }) => {
            Ok(invite_form(&token, Some(&e.to_string())))
        }
        Err(e @ bincio_state::StateError::InviteInvalid) => {
            Err(WebError::NotFound(e.to_string()).into())
        }
        Err(e) => Err(e.into()),
    }
}
