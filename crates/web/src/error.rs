//! One error type for every handler, mapped exhaustively to status codes. Users see a
//! Vietnamese message and a request id; logs get the cause chain.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nothing there (or nothing the caller may know about).
    #[error("Không tìm thấy trang hoặc dữ liệu yêu cầu.")]
    NotFound,
    /// Logged in, but not allowed.
    #[error("Bạn không có quyền thực hiện thao tác này.")]
    Forbidden,
    /// Not logged in (or the session expired).
    #[error("Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")]
    LoginRequired,
    /// The request is malformed; the message says what and where.
    #[error("{0}")]
    BadRequest(String),
    /// The change conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("{0}")]
    TooMany(String),
    /// A bug or an outage.
    #[error("Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau.")]
    Internal(#[from] anyhow::Error),
}

impl From<db::DbError> for WebError {
    fn from(e: db::DbError) -> Self {
        match e {
            db::DbError::NotFound => Self::NotFound,
            db::DbError::Conflict(m) => Self::Conflict(m),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::LoginRequired => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs server errors with a fresh request id and returns it.
    pub fn log(&self) -> String {
        let id = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
        if let Self::Internal(e) = self {
            tracing::error!(request_id = %id, error = ?e, "request failed");
        }
        id
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    message: String,
    request_id: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self, Self::LoginRequired) {
            return Redirect::to("/login").into_response();
        }
        let request_id = self.log();
        let status = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            message: self.to_string(),
            request_id,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.to_string()).into_response(),
        }
    }
}

/// The same errors, answered as JSON for the API.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = self.0.log();
        let status = self.0.status();
        let code = match self.0 {
            WebError::NotFound => "not_found",
            WebError::Forbidden => "forbidden",
            WebError::LoginRequired => "unauthorized",
            WebError::BadRequest(_) => "bad_request",
            WebError::Conflict(_) => "conflict",
            WebError::TooMany(_) => "too_many_requests",
            WebError::Internal(_) => "internal",
        };
        (
            status,
            axum::Json(serde_json::json!({
                "error": code,
                "message": self.0.to_string(),
                "request_id": request_id,
            })),
        )
            .into_response()
    }
}

/// Result of an HTML handler.
pub type WebResult<T> = Result<T, WebError>;

impl From<axum::extract::rejection::FormRejection> for WebError {
    fn from(e: axum::extract::rejection::FormRejection) -> Self {
        Self::BadRequest(format!(
            "Biểu mẫu gửi lên thiếu hoặc sai trường ({}). Hãy tải lại trang và thử lại.",
            e.body_text()
        ))
    }
}

impl From<axum::extract::rejection::JsonRejection> for WebError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        Self::BadRequest(format!("Dữ liệu JSON không hợp lệ: {}", e.body_text()))
    }
}

/// `axum::Form` whose rejection is a Vietnamese [`WebError`] page.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct Form<T>(pub T);

/// `axum::Json` whose rejection is a JSON [`ApiError`] with a Vietnamese message.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);
