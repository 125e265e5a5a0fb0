//! Rules of the oversight dashboards: when a school counts as red, amber or green.

/// The traffic light of a school on a coverage dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rag {
    /// Not deployed, or nobody teaching on it.
    Red,
    /// Deployed but little used.
    Amber,
    /// Deployed and used.
    Green,
}

impl Rag {
    /// The stored/CSS code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Amber => "amber",
            Self::Green => "green",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Red => "Chưa triển khai / chưa sử dụng",
            Self::Amber => "Đã triển khai, sử dụng ít",
            Self::Green => "Đang sử dụng tốt",
        }
    }
}

/// Share in percent, 0 when there is nothing to share.
pub fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part * 100 + whole / 2) / whole
    }
}

/// Red: no school year, or no staff active in 30 days. Green: at least half the staff and a
/// third of the students active in 30 days. Amber: in between.
pub fn rag(
    deployed: bool,
    staff: i64,
    staff_active_30: i64,
    students: i64,
    students_active_30: i64,
) -> Rag {
    if !deployed || staff_active_30 == 0 {
        return Rag::Red;
    }
    if percent(staff_active_30, staff) >= 50 && percent(students_active_30, students) >= 33 {
        Rag::Green
    } else {
        Rag::Amber
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_lights() {
        assert_eq!(rag(false, 10, 10, 100, 100), Rag::Red);
        assert_eq!(rag(true, 10, 0, 100, 90), Rag::Red);
        assert_eq!(rag(true, 10, 5, 300, 100), Rag::Green);
        assert_eq!(rag(true, 10, 4, 300, 200), Rag::Amber);
        assert_eq!(rag(true, 10, 9, 300, 50), Rag::Amber);
    }

    #[test]
    fn percentages_round_and_survive_zero() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(5, 0), 0);
    }
}
