//! Roles, scopes and the one place that decides who may do what.
//!
//! Every request carries an [`Actor`]; handlers load the target's place in the tree (a
//! [`SchoolRef`] or a unit path) and ask [`Actor::can`]. Nothing else grants access.

use crate::Id;
use crate::tree::path_within;
use serde::{Deserialize, Serialize};

/// A role, always granted at a node of the tree (or, for parents, through their children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Quản trị hệ thống — the whole installation.
    SystemAdmin,
    /// Chuyên viên Sở — a province and everything below it.
    ProvinceOfficer,
    /// Cán bộ xã/phường (or the old district unit) — a commune and its schools.
    CommuneOfficer,
    /// Hiệu trưởng — one school.
    Principal,
    /// Quản trị trường (giáo vụ) — one school.
    SchoolAdmin,
    /// Tổ trưởng chuyên môn — a subject group in one school.
    GroupHead,
    /// Giáo viên — one school.
    Teacher,
    /// Học sinh — one school, their own records.
    Student,
    /// Phụ huynh — their own children, wherever they study.
    Parent,
}

impl Role {
    /// Every role, most powerful first (the order picks a user's main dashboard).
    pub const ALL: [Self; 9] = [
        Self::SystemAdmin,
        Self::ProvinceOfficer,
        Self::CommuneOfficer,
        Self::Principal,
        Self::SchoolAdmin,
        Self::GroupHead,
        Self::Teacher,
        Self::Student,
        Self::Parent,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::ProvinceOfficer => "province_officer",
            Self::CommuneOfficer => "commune_officer",
            Self::Principal => "principal",
            Self::SchoolAdmin => "school_admin",
            Self::GroupHead => "group_head",
            Self::Teacher => "teacher",
            Self::Student => "student",
            Self::Parent => "parent",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::SystemAdmin => "Quản trị hệ thống",
            Self::ProvinceOfficer => "Chuyên viên Sở GD&ĐT",
            Self::CommuneOfficer => "Cán bộ quản lý giáo dục xã/phường",
            Self::Principal => "Hiệu trưởng",
            Self::SchoolAdmin => "Quản trị trường",
            Self::GroupHead => "Tổ trưởng chuyên môn",
            Self::Teacher => "Giáo viên",
            Self::Student => "Học sinh",
            Self::Parent => "Phụ huynh",
        }
    }

    /// Whether the role is granted on a management unit (rather than a school).
    pub fn is_unit_role(self) -> bool {
        matches!(
            self,
            Self::SystemAdmin | Self::ProvinceOfficer | Self::CommuneOfficer
        )
    }

    /// Whether the role is granted on a school.
    pub fn is_school_role(self) -> bool {
        matches!(
            self,
            Self::Principal | Self::SchoolAdmin | Self::GroupHead | Self::Teacher | Self::Student
        )
    }
}

/// A role at a place: unit roles carry the unit's path, school roles the school id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// For unit roles: the unit's materialized path (`/a/b/`).
    pub unit_path: Option<String>,
    /// For school roles: the school.
    pub school_id: Option<Id>,
}

/// Where a school sits: its id and its unit's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolRef {
    /// The school.
    pub id: Id,
    /// The path of the unit it hangs under.
    pub unit_path: String,
}

/// What an actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Administer the installation (catalogues, all units).
    ManageSystem,
    /// See a unit, the units and schools below it and their figures.
    ViewUnit,
    /// Create or edit units and schools below a unit.
    ManageUnit,
    /// Read a school's organisation: years, classes, subjects, assignments, class lists.
    ViewSchool,
    /// Change a school's organisation and roster, import and export it.
    ManageSchool,
    /// Create accounts at a school and reset their passwords.
    ManageAccounts,
    /// See one student's record.
    ViewStudent,
    /// Look after a class as its homeroom teacher: parents' activation codes, announcements.
    ManageClass,
    /// Teach a class: announcements to its parents, messages with them.
    TeachClass,
    /// Moderate a school's messages (reported messages, blocked conversations).
    ModerateSchool,
    /// Write learning materials in a school's library (its teachers and managers).
    AuthorMaterials,
    /// Review learning materials of a school (subject-group heads and the principal).
    ReviewMaterials,
    /// Schedule, run and end the live sessions of a class, correct their attendance (the
    /// class's teacher and the school's managers). Target: the class.
    ManageLiveSession,
    /// Enter a live session as a student. Target: the student, who must be the actor.
    JoinLive,
    /// Enter a school's live sessions to observe (principal, subject-group heads, officers
    /// whose scope contains the school). Target: the school.
    ObserveLive,
}

/// The thing acted on, with its place in the tree.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The installation itself.
    System,
    /// A management unit, by path.
    Unit(&'a str),
    /// A school.
    School(&'a SchoolRef),
    /// A student of a school, with the user ids of the student and their guardians.
    Student {
        /// The student's school.
        school: &'a SchoolRef,
        /// The student's own account, if any.
        user_id: Option<Id>,
        /// The accounts of the student's parents/guardians.
        guardians: &'a [Id],
    },
    /// A class of a school, with the accounts of its homeroom and subject teachers.
    Class {
        /// The class's school.
        school: &'a SchoolRef,
        /// The homeroom teacher's account.
        homeroom: Option<Id>,
        /// The accounts of its subject teachers.
        teachers: &'a [Id],
    },
}

/// The authenticated user behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user.
    pub user_id: Id,
    /// Login name.
    pub username: String,
    /// Full name, for display.
    pub full_name: String,
    /// Every role the user holds.
    pub grants: Vec<Grant>,
}

impl Actor {
    /// The user's most powerful role (drives the dashboard).
    pub fn main_role(&self) -> Option<Role> {
        self.grants.iter().map(|g| g.role).min()
    }

    /// Whether the user holds `role` anywhere.
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// The schools where the user holds a school role, first one first.
    pub fn school_ids(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = Vec::new();
        for g in &self.grants {
            if let Some(id) = g.school_id
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }

    /// The unit paths where the user holds a unit role.
    pub fn unit_paths(&self) -> Vec<&str> {
        self.grants
            .iter()
            .filter(|g| g.role.is_unit_role())
            .filter_map(|g| g.unit_path.as_deref())
            .collect()
    }

    fn is_system_admin(&self) -> bool {
        self.has_role(Role::SystemAdmin)
    }

    fn officer_covers(&self, path: &str) -> bool {
        self.grants.iter().any(|g| {
            matches!(g.role, Role::ProvinceOfficer | Role::CommuneOfficer)
                && g.unit_path.as_deref().is_some_and(|p| path_within(path, p))
        })
    }

    fn school_role_in(&self, school: Id, roles: &[Role]) -> bool {
        self.grants
            .iter()
            .any(|g| g.school_id == Some(school) && roles.contains(&g.role))
    }

    /// The single authorization rule of lophoc.
    pub fn can(&self, action: Action, target: Target<'_>) -> bool {
        if self.is_system_admin() {
            return true;
        }
        const MANAGERS: &[Role] = &[Role::Principal, Role::SchoolAdmin];
        const STAFF: &[Role] = &[
            Role::Principal,
            Role::SchoolAdmin,
            Role::GroupHead,
            Role::Teacher,
        ];
        match (action, target) {
            (Action::ManageSystem, _) => false,
            (Action::ViewUnit | Action::ManageUnit, Target::Unit(path)) => {
                self.officer_covers(path)
            }
            (Action::ViewSchool, Target::School(s)) => {
                self.officer_covers(&s.unit_path) || self.school_role_in(s.id, STAFF)
            }
            (Action::ManageSchool | Action::ManageAccounts, Target::School(s)) => {
                self.school_role_in(s.id, MANAGERS)
            }
            (
                Action::ViewStudent,
                Target::Student {
                    school,
                    user_id,
                    guardians,
                },
            ) => {
                self.officer_covers(&school.unit_path)
                    || self.school_role_in(school.id, STAFF)
                    || user_id == Some(self.user_id)
                    || guardians.contains(&self.user_id)
            }
            (Action::ModerateSchool, Target::School(s)) => self.school_role_in(s.id, MANAGERS),
            (Action::AuthorMaterials, Target::School(s)) => self.school_role_in(s.id, STAFF),
            (Action::ReviewMaterials, Target::School(s)) => {
                self.school_role_in(s.id, &[Role::Principal, Role::GroupHead])
            }
            (
                Action::ManageLiveSession,
                Target::Class {
                    school, teachers, ..
                },
            ) => {
                self.school_role_in(school.id, MANAGERS)
                    || (self.school_role_in(school.id, STAFF) && teachers.contains(&self.user_id))
            }
            (
                Action::JoinLive,
                Target::Student {
                    school, user_id, ..
                },
            ) => user_id == Some(self.user_id) && self.school_role_in(school.id, &[Role::Student]),
            (Action::ObserveLive, Target::School(s)) => {
                self.officer_covers(&s.unit_path)
                    || self.school_role_in(s.id, &[Role::Principal, Role::GroupHead])
            }
            (
                Action::ManageClass,
                Target::Class {
                    school, homeroom, ..
                },
            ) => self.school_role_in(school.id, MANAGERS) || homeroom == Some(self.user_id),
            (
                Action::TeachClass,
                Target::Class {
                    school,
                    homeroom,
                    teachers,
                },
            ) => {
                self.school_role_in(school.id, MANAGERS)
                    || (self.school_role_in(school.id, STAFF)
                        && (homeroom == Some(self.user_id) || teachers.contains(&self.user_id)))
            }
            _ => false,
        }
    }

    /// Whether this actor may open a conversation between `parent` and `staff` about a
    /// student: only the two people themselves, only a parent of that student, and only a
    /// teacher of the student's class. No channel reaches other families' children.
    pub fn may_open_thread(
        &self,
        parent: Id,
        staff: Id,
        guardians: &[Id],
        class_staff: &[Id],
    ) -> bool {
        (self.user_id == parent || self.user_id == staff)
            && guardians.contains(&parent)
            && class_staff.contains(&staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new_id;

    fn actor(role: Role, unit_path: Option<&str>, school: Option<Id>) -> Actor {
        Actor {
            user_id: new_id(),
            username: "u".into(),
            full_name: "U".into(),
            grants: vec![Grant {
                role,
                unit_path: unit_path.map(str::to_owned),
                school_id: school,
            }],
        }
    }

    #[test]
    fn the_matrix_holds_for_own_and_foreign_schools() {
        let province = "/p/";
        let commune_a = "/p/a/";
        let commune_b = "/p/b/";
        let own = SchoolRef {
            id: new_id(),
            unit_path: commune_a.into(),
        };
        let foreign = SchoolRef {
            id: new_id(),
            unit_path: commune_b.into(),
        };

        let officer = actor(Role::ProvinceOfficer, Some(province), None);
        assert!(officer.can(Action::ViewSchool, Target::School(&own)));
        assert!(officer.can(Action::ViewSchool, Target::School(&foreign)));
        assert!(!officer.can(Action::ManageSchool, Target::School(&own)));
        assert!(!officer.can(Action::ManageSystem, Target::System));

        let commune = actor(Role::CommuneOfficer, Some(commune_a), None);
        assert!(commune.can(Action::ViewSchool, Target::School(&own)));
        assert!(!commune.can(Action::ViewSchool, Target::School(&foreign)));
        assert!(!commune.can(Action::ViewUnit, Target::Unit(province)));

        for role in [Role::Principal, Role::SchoolAdmin] {
            let a = actor(role, None, Some(own.id));
            assert!(a.can(Action::ManageSchool, Target::School(&own)));
            assert!(!a.can(Action::ManageSchool, Target::School(&foreign)));
            assert!(!a.can(Action::ViewSchool, Target::School(&foreign)));
        }
        for role in [Role::Teacher, Role::GroupHead] {
            let a = actor(role, None, Some(own.id));
            assert!(a.can(Action::ViewSchool, Target::School(&own)));
            assert!(!a.can(Action::ManageSchool, Target::School(&own)));
            assert!(!a.can(Action::ViewSchool, Target::School(&foreign)));
        }
        let student = actor(Role::Student, None, Some(own.id));
        assert!(!student.can(Action::ViewSchool, Target::School(&own)));
        let other = new_id();
        assert!(student.can(
            Action::ViewStudent,
            Target::Student {
                school: &own,
                user_id: Some(student.user_id),
                guardians: &[]
            }
        ));
        assert!(!student.can(
            Action::ViewStudent,
            Target::Student {
                school: &own,
                user_id: Some(other),
                guardians: &[]
            }
        ));

        let parent = actor(Role::Parent, None, None);
        assert!(parent.can(
            Action::ViewStudent,
            Target::Student {
                school: &foreign,
                user_id: None,
                guardians: &[parent.user_id]
            }
        ));
        assert!(!parent.can(
            Action::ViewStudent,
            Target::Student {
                school: &foreign,
                user_id: None,
                guardians: &[other]
            }
        ));

        let admin = actor(Role::SystemAdmin, Some("/"), None);
        assert!(admin.can(Action::ManageSystem, Target::System));
        assert!(admin.can(Action::ManageSchool, Target::School(&foreign)));
    }

    #[test]
    fn live_sessions_are_run_by_the_teacher_joined_by_students_observed_by_leaders() {
        let own = SchoolRef {
            id: new_id(),
            unit_path: "/p/a/".into(),
        };
        let foreign = SchoolRef {
            id: new_id(),
            unit_path: "/p/b/".into(),
        };
        let teacher = actor(Role::Teacher, None, Some(own.id));
        let colleague = actor(Role::Teacher, None, Some(own.id));
        let teachers = [teacher.user_id];
        let class = Target::Class {
            school: &own,
            homeroom: None,
            teachers: &teachers,
        };
        assert!(teacher.can(Action::ManageLiveSession, class));
        assert!(!colleague.can(Action::ManageLiveSession, class));
        assert!(!colleague.can(Action::ObserveLive, Target::School(&own)));
        let principal = actor(Role::Principal, None, Some(own.id));
        assert!(principal.can(Action::ManageLiveSession, class));
        assert!(principal.can(Action::ObserveLive, Target::School(&own)));
        assert!(!principal.can(Action::ObserveLive, Target::School(&foreign)));
        let head = actor(Role::GroupHead, None, Some(own.id));
        assert!(head.can(Action::ObserveLive, Target::School(&own)));
        assert!(!head.can(Action::ManageLiveSession, class));
        // A teacher of another school, even listed, cannot run the class.
        let outsider = actor(Role::Teacher, None, Some(foreign.id));
        let listed = [outsider.user_id];
        assert!(!outsider.can(
            Action::ManageLiveSession,
            Target::Class {
                school: &own,
                homeroom: None,
                teachers: &listed
            }
        ));

        let commune = actor(Role::CommuneOfficer, Some("/p/a/"), None);
        assert!(commune.can(Action::ObserveLive, Target::School(&own)));
        assert!(!commune.can(Action::ObserveLive, Target::School(&foreign)));
        assert!(!commune.can(Action::ManageLiveSession, class));
        let province = actor(Role::ProvinceOfficer, Some("/p/"), None);
        assert!(province.can(Action::ObserveLive, Target::School(&foreign)));

        let student = actor(Role::Student, None, Some(own.id));
        let me = Target::Student {
            school: &own,
            user_id: Some(student.user_id),
            guardians: &[],
        };
        assert!(student.can(Action::JoinLive, me));
        assert!(!student.can(Action::ObserveLive, Target::School(&own)));
        let classmate = actor(Role::Student, None, Some(own.id));
        assert!(!classmate.can(Action::JoinLive, me));
        let parent = actor(Role::Parent, None, None);
        let child = Target::Student {
            school: &own,
            user_id: None,
            guardians: &[parent.user_id],
        };
        assert!(!parent.can(Action::JoinLive, child));
        assert!(!parent.can(Action::ObserveLive, Target::School(&own)));
    }

    #[test]
    fn classes_and_conversations() {
        let school = SchoolRef {
            id: new_id(),
            unit_path: "/p/a/".into(),
        };
        let homeroom = actor(Role::Teacher, None, Some(school.id));
        let subject = actor(Role::Teacher, None, Some(school.id));
        let other = actor(Role::Teacher, None, Some(school.id));
        let teachers = [subject.user_id];
        let class = Target::Class {
            school: &school,
            homeroom: Some(homeroom.user_id),
            teachers: &teachers,
        };
        assert!(homeroom.can(Action::ManageClass, class));
        assert!(!subject.can(Action::ManageClass, class));
        assert!(subject.can(Action::TeachClass, class));
        assert!(!other.can(Action::TeachClass, class));
        let principal = actor(Role::Principal, None, Some(school.id));
        assert!(principal.can(Action::ManageClass, class));
        assert!(principal.can(Action::ModerateSchool, Target::School(&school)));
        assert!(!homeroom.can(Action::ModerateSchool, Target::School(&school)));

        let parent = actor(Role::Parent, None, None);
        let stranger = actor(Role::Parent, None, None);
        let staff = [homeroom.user_id, subject.user_id];
        let guardians = [parent.user_id];
        assert!(parent.may_open_thread(parent.user_id, subject.user_id, &guardians, &staff));
        assert!(homeroom.may_open_thread(parent.user_id, homeroom.user_id, &guardians, &staff));
        assert!(!stranger.may_open_thread(stranger.user_id, subject.user_id, &guardians, &staff));
        assert!(!parent.may_open_thread(parent.user_id, other.user_id, &guardians, &staff));
        assert!(!other.may_open_thread(parent.user_id, other.user_id, &guardians, &staff));
    }

    #[test]
    fn main_role_is_the_most_powerful() {
        let mut a = actor(Role::Parent, None, None);
        a.grants.push(Grant {
            role: Role::Teacher,
            unit_path: None,
            school_id: Some(new_id()),
        });
        assert_eq!(a.main_role(), Some(Role::Teacher));
    }
}
