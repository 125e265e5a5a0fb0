//! User guides (Markdown in `docs/`, embedded in the binary), linked from the pages they explain.

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::Lang;
use crate::view::{Ctx, render};
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The guides: slug, title, Markdown.
pub const GUIDES: &[(&str, &str, &str)] = &[
    (
        "dang-nhap",
        "Đăng nhập và đổi mật khẩu",
        include_str!("../../../../docs/dang-nhap.md"),
    ),
    (
        "nam-hoc-lop-phan-cong",
        "Năm học, lớp, cán bộ và phân công",
        include_str!("../../../../docs/nam-hoc-lop-phan-cong.md"),
    ),
    (
        "phu-huynh",
        "Phụ huynh: kích hoạt, nhắn tin, thông báo",
        include_str!("../../../../docs/phu-huynh.md"),
    ),
    (
        "diem-danh",
        "Điểm danh hằng ngày",
        include_str!("../../../../docs/diem-danh.md"),
    ),
    (
        "do-phu-nen-tang",
        "Độ phủ nền tảng (Sở, xã/phường)",
        include_str!("../../../../docs/do-phu-nen-tang.md"),
    ),
    (
        "hoc-tap",
        "Khoá học: bài học, bài tập, hỏi đáp, tiến độ",
        include_str!("../../../../docs/hoc-tap.md"),
    ),
    (
        "thu-vien-hoc-lieu",
        "Thư viện học liệu: soạn, thẩm định, phê duyệt",
        include_str!("../../../../docs/thu-vien-hoc-lieu.md"),
    ),
    (
        "ngan-hang-cau-hoi",
        "Ngân hàng câu hỏi: nhập từ Word, duyệt, xuất",
        include_str!("../../../../docs/ngan-hang-cau-hoi.md"),
    ),
    (
        "so-diem",
        "Sổ điểm điện tử (Thông tư 22, 27)",
        include_str!("../../../../docs/so-diem.md"),
    ),
    (
        "danh-gia-chuyen-doi-so",
        "Tự đánh giá chuyển đổi số (QĐ 4725)",
        include_str!("../../../../docs/danh-gia-chuyen-doi-so.md"),
    ),
    (
        "kiem-tra-thong-tu-09",
        "Kiểm tra dạy học trực tuyến theo Thông tư 09",
        include_str!("../../../../docs/kiem-tra-thong-tu-09.md"),
    ),
    (
        "khao-sat-bao-cao",
        "Khảo sát, báo cáo và kế hoạch, quy chế dạy học trực tuyến",
        include_str!("../../../../docs/khao-sat-bao-cao.md"),
    ),
    (
        "trao-doi-du-lieu",
        "Trao đổi dữ liệu với CSDL ngành",
        include_str!("../../../../docs/trao-doi-du-lieu.md"),
    ),
    (
        "nhap-danh-sach-hoc-sinh",
        "Nhập danh sách học sinh từ Excel",
        include_str!("../../../../docs/nhap-danh-sach-hoc-sinh.md"),
    ),
    (
        "lop-truc-tuyen",
        "Lớp học trực tuyến: lên lịch, vào lớp, điểm danh, bản ghi",
        include_str!("../../../../docs/lop-truc-tuyen.md"),
    ),
];

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/guides", get(index))
        .route("/guides/{slug}", get(guide))
        .route("/guides/img/{file}", get(image))
}

#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    ctx: Ctx,
    body: String,
    guides: Vec<(&'static str, &'static str)>,
}

async fn index(headers: HeaderMap) -> WebResult<Html<String>> {
    let lang = Lang::from_headers(&headers);
    render(&GuidePage {
        ctx: Ctx::anonymous(lang, lang.t("nav-guides")),
        body: String::new(),
        guides: GUIDES.iter().map(|(s, t, _)| (*s, *t)).collect(),
    })
}

async fn guide(headers: HeaderMap, Path(slug): Path<String>) -> WebResult<Html<String>> {
    let lang = Lang::from_headers(&headers);
    let (_, title, md) = GUIDES
        .iter()
        .find(|(s, _, _)| *s == slug)
        .ok_or(WebError::NotFound)?;
    // The page prints the title as its heading; drop the guide's own first-level heading.
    let md = md.strip_prefix('#').map_or(*md, |rest| {
        rest.split_once('\n').map_or("", |(_, body)| body)
    });
    let mut body = String::new();
    // The guides are our own files, compiled in; raw HTML in them is not user input.
    pulldown_cmark::html::push_html(
        &mut body,
        pulldown_cmark::Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES),
    );
    render(&GuidePage {
        ctx: Ctx::anonymous(lang, *title),
        body,
        guides: vec![],
    })
}

/// Screenshots used by the guides.
const IMAGES: &[(&str, &[u8])] = &[
    (
        "diem-danh.png",
        include_bytes!("../../../../docs/img/diem-danh.png"),
    ),
    (
        "diem-danh-thang.png",
        include_bytes!("../../../../docs/img/diem-danh-thang.png"),
    ),
    (
        "diem-danh-phu-huynh.png",
        include_bytes!("../../../../docs/img/diem-danh-phu-huynh.png"),
    ),
    (
        "trang-cua-con.png",
        include_bytes!("../../../../docs/img/trang-cua-con.png"),
    ),
    (
        "hop-thu-phu-huynh.png",
        include_bytes!("../../../../docs/img/hop-thu-phu-huynh.png"),
    ),
    (
        "dang-nhap.png",
        include_bytes!("../../../../docs/img/dang-nhap.png"),
    ),
    (
        "trang-chu-hieu-truong.png",
        include_bytes!("../../../../docs/img/trang-chu-hieu-truong.png"),
    ),
    (
        "nhap-danh-sach.png",
        include_bytes!("../../../../docs/img/nhap-danh-sach.png"),
    ),
    (
        "nam-hoc.png",
        include_bytes!("../../../../docs/img/nam-hoc.png"),
    ),
    (
        "so-diem.png",
        include_bytes!("../../../../docs/img/so-diem.png"),
    ),
    (
        "video-hoc-sinh.png",
        include_bytes!("../../../../docs/img/video-hoc-sinh.png"),
    ),
    (
        "bai-hoc.png",
        include_bytes!("../../../../docs/img/bai-hoc.png"),
    ),
    (
        "cham-bai.png",
        include_bytes!("../../../../docs/img/cham-bai.png"),
    ),
    (
        "hoc-lieu-phe-duyet.png",
        include_bytes!("../../../../docs/img/hoc-lieu-phe-duyet.png"),
    ),
    (
        "do-phu.png",
        include_bytes!("../../../../docs/img/do-phu.png"),
    ),
    (
        "kich-hoat-phu-huynh.png",
        include_bytes!("../../../../docs/img/kich-hoat-phu-huynh.png"),
    ),
    (
        "lop-hoc-bang-trang.png",
        include_bytes!("../../../../docs/img/lop-hoc-bang-trang.png"),
    ),
    (
        "lop-hoc-giao-vien.png",
        include_bytes!("../../../../docs/img/lop-hoc-giao-vien.png"),
    ),
    (
        "tin-nhan.png",
        include_bytes!("../../../../docs/img/tin-nhan.png"),
    ),
];

async fn image(Path(file): Path<String>) -> Response {
    match IMAGES.iter().find(|(name, _)| *name == file) {
        Some((_, bytes)) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/png"),
                (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => WebError::NotFound.into_response(),
    }
}
