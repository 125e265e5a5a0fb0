//! Interface language: Vietnamese by default, English on request (a `lang` cookie set by
//! `/lang/en`). Strings live in Fluent catalogues under `locales/`, embedded in the binary.

use axum::http::HeaderMap;
use fluent_templates::Loader;
use unic_langid::{LanguageIdentifier, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "vi",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Tiếng Việt.
    #[default]
    Vi,
    /// English.
    En,
}

const VI: LanguageIdentifier = langid!("vi");
const EN: LanguageIdentifier = langid!("en");

impl Lang {
    /// The language chosen by the `lang` cookie.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match crate::auth::cookie(headers, "lang") {
            Some("en") => Self::En,
            _ => Self::Vi,
        }
    }

    /// The `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// Looks up a message.
    pub fn t(self, key: &str) -> String {
        let id = match self {
            Self::Vi => &VI,
            Self::En => &EN,
        };
        LOCALES.lookup(id, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let keys = |s: &str| -> Vec<String> {
            s.lines()
                .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
                .collect()
        };
        let pairs = [
            (
                include_str!("../locales/vi/main.ftl"),
                include_str!("../locales/en/main.ftl"),
            ),
            (
                include_str!("../locales/vi/learning.ftl"),
                include_str!("../locales/en/learning.ftl"),
            ),
            (
                include_str!("../locales/vi/video.ftl"),
                include_str!("../locales/en/video.ftl"),
            ),
            (
                include_str!("../locales/vi/gradebook.ftl"),
                include_str!("../locales/en/gradebook.ftl"),
            ),
            (
                include_str!("../locales/vi/exams.ftl"),
                include_str!("../locales/en/exams.ftl"),
            ),
            (
                include_str!("../locales/vi/banks.ftl"),
                include_str!("../locales/en/banks.ftl"),
            ),
            (
                include_str!("../locales/vi/surveys.ftl"),
                include_str!("../locales/en/surveys.ftl"),
            ),
            (
                include_str!("../locales/vi/exchange.ftl"),
                include_str!("../locales/en/exchange.ftl"),
            ),
            (
                include_str!("../locales/vi/self_assessment.ftl"),
                include_str!("../locales/en/self_assessment.ftl"),
            ),
            (
                include_str!("../locales/vi/live.ftl"),
                include_str!("../locales/en/live.ftl"),
            ),
            (
                include_str!("../locales/vi/live_room.ftl"),
                include_str!("../locales/en/live_room.ftl"),
            ),
            (
                include_str!("../locales/vi/pdf.ftl"),
                include_str!("../locales/en/pdf.ftl"),
            ),
            (
                include_str!("../locales/vi/attendance.ftl"),
                include_str!("../locales/en/attendance.ftl"),
            ),
            (
                include_str!("../locales/vi/family.ftl"),
                include_str!("../locales/en/family.ftl"),
            ),
        ];
        for (vi, en) in pairs {
            let vi = keys(vi);
            assert_eq!(vi, keys(en));
            for k in &vi {
                assert_ne!(Lang::Vi.t(k), Lang::En.t(k), "{k} is not translated");
                assert!(!Lang::Vi.t(k).contains("Unknown"), "{k} does not resolve");
            }
        }
    }

    #[test]
    fn vietnamese_is_the_default() {
        assert_eq!(Lang::default().t("nav-logout"), "Đăng xuất");
        assert_eq!(Lang::En.t("nav-logout"), "Log out");
    }
}
