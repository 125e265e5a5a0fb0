//! The classroom as a pure state machine: who is in the room and what they may do, chat,
//! raised hands, moderation, polls, the whiteboard and the recording flag.
//!
//! No I/O and no clock: every call gets the time ([`Now`]) and returns [`Out`]puts that the
//! caller delivers (messages to connections, events for the web layer, changes of media
//! permissions for the SFU). That keeps every classroom rule testable faster than real time.

use crate::proto::{
    BoardItem, ChatMsg, ClientMsg, PeerInfo, PollState, RoomState, ServerMsg, SlideState,
};
use crate::{JoinError, LiveEvent, Participant, Role, RoomSpec};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};
use uuid::Uuid;

/// Identifies one connection (one WebSocket) of a participant.
pub type ConnId = u64;

/// Longest chat message, in characters (after trimming).
pub const CHAT_MAX_CHARS: usize = 500;
/// Chat messages kept for newcomers.
pub const CHAT_HISTORY: usize = 200;
/// At most this many chat messages per person within [`CHAT_WINDOW`].
pub const CHAT_BURST: usize = 5;
/// The window of the chat flood limit.
pub const CHAT_WINDOW: Duration = Duration::from_secs(10);
/// Most points in one whiteboard item.
pub const BOARD_MAX_POINTS: usize = 2000;
/// Longest whiteboard text, in characters.
pub const BOARD_TEXT_MAX_CHARS: usize = 200;
/// Most items on the whiteboard (then the teacher has to clear it).
pub const BOARD_MAX_ITEMS: usize = 5000;
/// Most pages of a slide deck.
pub const MAX_SLIDE_PAGES: u32 = 300;
/// Longest poll question, in characters.
pub const POLL_QUESTION_MAX_CHARS: usize = 300;
/// Longest poll option, in characters.
pub const POLL_OPTION_MAX_CHARS: usize = 100;

/// The time of a call: a monotonic instant for durations and the wall clock for records.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Monotonic time (grace periods, flood limits).
    pub at: Instant,
    /// Wall-clock time (events, chat timestamps).
    pub wall: SystemTime,
}

impl Now {
    /// The real time now.
    pub fn system() -> Self {
        Self {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// Something the caller must do after a call into the room.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Send to one member's current connection (if connected).
    To(Uuid, ServerMsg),
    /// Send to every connected member.
    All(ServerMsg),
    /// Send to every connected member except one.
    Others(Uuid, ServerMsg),
    /// Hand an event to the web layer.
    Event(EventOut),
    /// A member's right to publish changed: the SFU forwards only what is allowed.
    Perms {
        /// Member.
        user: Uuid,
        /// May send audio.
        audio: bool,
        /// May send camera video.
        video: bool,
    },
    /// End this connection (the member was removed or connected again elsewhere).
    Close {
        /// Member.
        user: Uuid,
        /// The connection to end.
        conn: ConnId,
    },
    /// Start or stop recording the teacher.
    Record {
        /// Recording.
        on: bool,
        /// The teacher who asked.
        by: Uuid,
    },
}

/// An event in a form that compares in tests; turned into a [`LiveEvent`] by the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOut {
    /// See [`LiveEvent::Joined`].
    Joined(Uuid, SystemTime),
    /// See [`LiveEvent::Left`].
    Left(Uuid, SystemTime),
    /// See [`LiveEvent::PollClosed`].
    PollClosed(String, Vec<(String, u32)>),
}

impl EventOut {
    /// The web layer's event for `room`.
    pub fn into_live(self, room: Uuid) -> LiveEvent {
        match self {
            Self::Joined(user, at) => LiveEvent::Joined { room, user, at },
            Self::Left(user, at) => LiveEvent::Left { room, user, at },
            Self::PollClosed(question, results) => LiveEvent::PollClosed {
                room,
                question,
                results,
            },
        }
    }
}

#[derive(Debug)]
struct Member {
    info: PeerInfo,
    /// The current connection; `None` while within the grace period after a break.
    conn: Option<ConnId>,
    /// When the connection broke (start of the grace period).
    broke: Option<Now>,
    /// Times of recent chat messages (flood limit).
    chat_times: VecDeque<Instant>,
}

#[derive(Debug)]
struct Poll {
    id: u32,
    question: String,
    options: Vec<String>,
    votes: Vec<(Uuid, u32)>,
    open: bool,
}

impl Poll {
    fn counts(&self) -> Vec<u32> {
        let mut counts = vec![0; self.options.len()];
        for (_, option) in &self.votes {
            counts[*option as usize] += 1;
        }
        counts
    }

    fn state_for(&self, user: Uuid) -> PollState {
        PollState {
            id: self.id,
            question: self.question.clone(),
            options: self.options.clone(),
            counts: self.counts(),
            open: self.open,
            mine: self.votes.iter().find(|(u, _)| *u == user).map(|(_, o)| *o),
        }
    }

    fn results(&self) -> Vec<(String, u32)> {
        self.options.iter().cloned().zip(self.counts()).collect()
    }
}

/// One live session's classroom.
#[derive(Debug)]
pub struct Room {
    spec: RoomSpec,
    grace: Duration,
    members: Vec<Member>,
    removed: HashSet<Uuid>,
    locked: bool,
    chat: VecDeque<ChatMsg>,
    next_chat: u64,
    hands: Vec<Uuid>,
    poll: Option<Poll>,
    next_poll: u32,
    board: Vec<BoardItem>,
    slides: Option<SlideState>,
    recording: Option<Uuid>,
}

fn error(code: &str, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code: code.into(),
        message: message.into(),
    }
}

fn forbidden() -> ServerMsg {
    error("forbidden", "Chỉ giáo viên được làm việc này.")
}

fn millis(wall: SystemTime) -> u64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn valid_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks a whiteboard item; the error is the user's message.
fn check_board(item: &BoardItem) -> Result<(), &'static str> {
    let points = item.points.len();
    let ok_points = match item.tool.as_str() {
        "pen" => (1..=BOARD_MAX_POINTS).contains(&points),
        "line" | "rect" | "ellipse" => points == 2,
        "text" => points == 1,
        _ => return Err("Công cụ vẽ không hợp lệ."),
    };
    if !ok_points {
        return Err("Số điểm của nét vẽ không hợp lệ.");
    }
    if !valid_color(&item.color) {
        return Err("Màu vẽ phải có dạng #rrggbb.");
    }
    if !(item.width.is_finite() && item.width > 0.0 && item.width <= 100.0) {
        return Err("Độ dày nét vẽ không hợp lệ.");
    }
    if item
        .points
        .iter()
        .flatten()
        .any(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
    {
        return Err("Toạ độ nét vẽ phải nằm trong bảng.");
    }
    match (&*item.tool, &item.text) {
        ("text", Some(t)) if !t.trim().is_empty() && t.chars().count() <= BOARD_TEXT_MAX_CHARS => {
            Ok(())
        }
        ("text", _) => Err("Chữ trên bảng phải có từ 1 đến 200 ký tự."),
        (_, None) => Ok(()),
        (_, Some(_)) => Err("Chỉ công cụ chữ mới có nội dung chữ."),
    }
}

impl Room {
    /// An empty room; `grace` is how long a broken connection keeps its place.
    pub fn new(spec: RoomSpec, grace: Duration) -> Self {
        Self {
            spec,
            grace,
            members: Vec::new(),
            removed: HashSet::new(),
            locked: false,
            chat: VecDeque::new(),
            next_chat: 1,
            hands: Vec::new(),
            poll: None,
            next_poll: 1,
            board: Vec::new(),
            slides: None,
            recording: None,
        }
    }

    /// The room's session.
    pub fn spec(&self) -> &RoomSpec {
        &self.spec
    }

    /// Members (connected or within their grace period).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// No members at all.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Members connected now.
    pub fn online(&self) -> usize {
        self.members.iter().filter(|m| m.conn.is_some()).count()
    }

    /// The current connection of a member.
    pub fn conn_of(&self, user: Uuid) -> Option<ConnId> {
        self.member(user).and_then(|m| m.conn)
    }

    /// Connected members with their connections.
    pub fn conns(&self) -> impl Iterator<Item = (Uuid, ConnId)> + '_ {
        self.members
            .iter()
            .filter_map(|m| m.conn.map(|c| (m.info.id, c)))
    }

    /// A member's state as others see it.
    pub fn peer(&self, user: Uuid) -> Option<&PeerInfo> {
        self.member(user).map(|m| &m.info)
    }

    /// Accounts removed from this session (they may not come back).
    pub fn removed(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.removed.iter().copied()
    }

    /// Who is recording, if anyone.
    pub fn recording(&self) -> Option<Uuid> {
        self.recording
    }

    /// The room's teacher currently in it, if any.
    pub fn teacher(&self) -> Option<Uuid> {
        self.members
            .iter()
            .find(|m| m.info.role == Role::Teacher)
            .map(|m| m.info.id)
    }

    fn member(&self, user: Uuid) -> Option<&Member> {
        self.members.iter().find(|m| m.info.id == user)
    }

    fn member_mut(&mut self, user: Uuid) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.info.id == user)
    }

    fn role(&self, user: Uuid) -> Option<Role> {
        self.member(user).map(|m| m.info.role)
    }

    fn state_for(&self, user: Uuid) -> RoomState {
        RoomState {
            title: self.spec.title.clone(),
            peers: self.members.iter().map(|m| m.info.clone()).collect(),
            chat: self.chat.iter().cloned().collect(),
            hands: self.hands.clone(),
            locked: self.locked,
            poll: self.poll.as_ref().map(|p| p.state_for(user)),
            board: self.board.clone(),
            recording: self.recording.is_some(),
            slides: self.slides.clone(),
        }
    }

    /// Admits a connection of `who`. A second connection of a member replaces the first
    /// (and is how a reconnection resumes: same place, same permissions, no new visit).
    pub fn join(
        &mut self,
        who: &Participant,
        conn: ConnId,
        now: Now,
    ) -> Result<Vec<Out>, JoinError> {
        if self.removed.contains(&who.user_id) {
            return Err(JoinError::Removed);
        }
        let mut out = Vec::new();
        if let Some(m) = self.member_mut(who.user_id) {
            if let Some(old) = m.conn.replace(conn) {
                out.push(Out::Close {
                    user: who.user_id,
                    conn: old,
                });
            }
            m.broke = None;
            let was_offline = !m.info.online;
            m.info.online = true;
            m.info.name.clone_from(&who.name);
            let info = m.info.clone();
            out.push(Out::To(who.user_id, self.welcome(who.user_id)));
            if was_offline {
                out.push(Out::Others(who.user_id, ServerMsg::Peer { peer: info }));
            }
            return Ok(out);
        }
        if self.locked && who.role != Role::Teacher {
            return Err(JoinError::Locked);
        }
        let teacher = who.role == Role::Teacher;
        let info = PeerInfo {
            id: who.user_id,
            name: who.name.clone(),
            role: who.role,
            audio: teacher,
            video: teacher,
            hand: false,
            online: true,
        };
        self.members.push(Member {
            info: info.clone(),
            conn: Some(conn),
            broke: None,
            chat_times: VecDeque::new(),
        });
        out.push(Out::To(who.user_id, self.welcome(who.user_id)));
        out.push(Out::Others(who.user_id, ServerMsg::Peer { peer: info }));
        out.push(Out::Event(EventOut::Joined(who.user_id, now.wall)));
        Ok(out)
    }

    fn welcome(&self, user: Uuid) -> ServerMsg {
        let me = self.peer(user).cloned().expect("welcome goes to a member");
        ServerMsg::Welcome {
            me,
            room: self.state_for(user),
        }
    }

    /// The connection broke without a goodbye: the member keeps their place for the grace
    /// period, shown offline.
    pub fn disconnected(&mut self, user: Uuid, conn: ConnId, now: Now) -> Vec<Out> {
        let Some(m) = self.member_mut(user) else {
            return Vec::new();
        };
        if m.conn != Some(conn) {
            return Vec::new();
        }
        m.conn = None;
        m.broke = Some(now);
        m.info.online = false;
        let peer = m.info.clone();
        vec![Out::Others(user, ServerMsg::Peer { peer })]
    }

    /// The member said goodbye on this connection: they leave at once.
    pub fn leave(&mut self, user: Uuid, conn: ConnId, now: Now) -> Vec<Out> {
        if self.conn_of(user) != Some(conn) {
            return Vec::new();
        }
        self.drop_member(user, now.wall)
    }

    fn drop_member(&mut self, user: Uuid, at: SystemTime) -> Vec<Out> {
        let Some(i) = self.members.iter().position(|m| m.info.id == user) else {
            return Vec::new();
        };
        let m = self.members.remove(i);
        let mut out = Vec::new();
        if let Some(conn) = m.conn {
            out.push(Out::Close { user, conn });
        }
        out.push(Out::Event(EventOut::Left(user, at)));
        out.push(Out::All(ServerMsg::Left { id: user }));
        if self.hands.contains(&user) {
            self.hands.retain(|h| *h != user);
            out.push(Out::All(ServerMsg::Hands {
                queue: self.hands.clone(),
            }));
        }
        if self.recording == Some(user) {
            self.recording = None;
            out.push(Out::Record {
                on: false,
                by: user,
            });
            out.push(Out::All(ServerMsg::Recording { on: false }));
        }
        out
    }

    /// When the next grace period ends, if any member is within one.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(|m| m.broke.map(|b| b.at + self.grace))
            .min()
    }

    /// Members whose grace period is over leave (at the moment their connection broke).
    pub fn tick(&mut self, now: Now) -> Vec<Out> {
        let expired: Vec<(Uuid, SystemTime)> = self
            .members
            .iter()
            .filter_map(|m| {
                m.broke
                    .filter(|b| b.at + self.grace <= now.at)
                    .map(|b| (m.info.id, b.wall))
            })
            .collect();
        expired
            .into_iter()
            .flat_map(|(user, at)| self.drop_member(user, at))
            .collect()
    }

    /// Ends the room: everyone leaves now, a running recording stops.
    pub fn close(&mut self, now: Now) -> Vec<Out> {
        let users: Vec<Uuid> = self.members.iter().map(|m| m.info.id).collect();
        let mut out = Vec::new();
        for user in users {
            let at = self
                .member(user)
                .and_then(|m| m.broke)
                .map_or(now.wall, |b| b.wall);
            out.extend(self.drop_member(user, at));
        }
        if let Some(by) = self.recording.take() {
            out.push(Out::Record { on: false, by });
        }
        out
    }

    /// A classroom message from a member. Media negotiation, quality and goodbyes are the
    /// caller's (they are answered with `bad_request` here).
    pub fn handle(&mut self, user: Uuid, msg: ClientMsg, now: Now) -> Vec<Out> {
        let Some(role) = self.role(user) else {
            return Vec::new();
        };
        let teacher = role == Role::Teacher;
        let refuse = |msg: ServerMsg| vec![Out::To(user, msg)];
        match msg {
            ClientMsg::Ping => refuse(ServerMsg::Pong),
            ClientMsg::Chat { text } => self.chat(user, &text, now),
            ClientMsg::Hand { up } => self.hand(user, up),
            ClientMsg::Mute { .. }
            | ClientMsg::Allow { .. }
            | ClientMsg::Remove { .. }
            | ClientMsg::Lock { .. }
            | ClientMsg::ChatHide { .. }
            | ClientMsg::PollOpen { .. }
            | ClientMsg::PollClose { .. }
            | ClientMsg::Board { .. }
            | ClientMsg::BoardUndo
            | ClientMsg::BoardClear
            | ClientMsg::Slides { .. }
            | ClientMsg::SlidePage { .. }
            | ClientMsg::Record { .. }
                if !teacher =>
            {
                refuse(forbidden())
            }
            ClientMsg::Mute { target } => self.mute(user, target),
            ClientMsg::Allow {
                target,
                audio,
                video,
            } => self.allow(user, target, audio, video),
            ClientMsg::Remove { target } => self.remove(user, target, now),
            ClientMsg::Lock { locked } => {
                self.locked = locked;
                vec![Out::All(ServerMsg::Locked { locked })]
            }
            ClientMsg::ChatHide { id } => {
                let before = self.chat.len();
                self.chat.retain(|m| m.id != id);
                if self.chat.len() == before {
                    return refuse(error("not_found", "Không tìm thấy tin nhắn này."));
                }
                vec![Out::All(ServerMsg::ChatHidden { id })]
            }
            ClientMsg::PollOpen { question, options } => self.poll_open(user, &question, &options),
            ClientMsg::PollVote { poll, option } => self.poll_vote(user, poll, option),
            ClientMsg::PollClose { poll } => self.poll_close(user, poll),
            ClientMsg::Board { item } => {
                if let Err(message) = check_board(&item) {
                    return refuse(error("bad_request", message));
                }
                if self.board.len() >= BOARD_MAX_ITEMS {
                    return refuse(error(
                        "board_full",
                        "Bảng đã đầy, hãy xoá bảng trước khi vẽ tiếp.",
                    ));
                }
                self.board.push(item.clone());
                vec![Out::All(ServerMsg::Board { item })]
            }
            ClientMsg::BoardUndo => {
                if self.board.pop().is_none() {
                    return Vec::new();
                }
                vec![Out::All(ServerMsg::BoardUndo)]
            }
            ClientMsg::BoardClear => {
                self.board.clear();
                vec![Out::All(ServerMsg::BoardClear)]
            }
            ClientMsg::Slides { deck: None, .. } => {
                self.slides = None;
                vec![Out::All(ServerMsg::Slides { slides: None })]
            }
            ClientMsg::Slides {
                deck: Some(deck),
                pages,
            } => {
                let id_ok = !deck.is_empty()
                    && deck.len() <= 64
                    && deck.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
                if !id_ok {
                    return refuse(error(
                        "bad_request",
                        "Mã bộ trang trình chiếu không hợp lệ.",
                    ));
                }
                if pages == 0 || pages > MAX_SLIDE_PAGES {
                    return refuse(error(
                        "bad_request",
                        format!("Bộ trình chiếu phải có từ 1 đến {MAX_SLIDE_PAGES} trang."),
                    ));
                }
                let slides = SlideState {
                    deck,
                    pages,
                    page: 1,
                };
                self.slides = Some(slides.clone());
                vec![Out::All(ServerMsg::Slides {
                    slides: Some(slides),
                })]
            }
            ClientMsg::SlidePage { page } => {
                let Some(slides) = self.slides.as_mut() else {
                    return refuse(error("bad_request", "Chưa trình chiếu bộ trang nào."));
                };
                if page == 0 || page > slides.pages {
                    return refuse(error(
                        "bad_request",
                        format!(
                            "Không có trang {page}: bộ trình chiếu có {} trang.",
                            slides.pages
                        ),
                    ));
                }
                slides.page = page;
                vec![Out::All(ServerMsg::Slides {
                    slides: Some(slides.clone()),
                })]
            }
            ClientMsg::Record { on } => match (on, self.recording) {
                (true, None) => {
                    self.recording = Some(user);
                    vec![
                        Out::Record { on: true, by: user },
                        Out::All(ServerMsg::Recording { on: true }),
                    ]
                }
                (false, Some(by)) => {
                    self.recording = None;
                    vec![
                        Out::Record { on: false, by },
                        Out::All(ServerMsg::Recording { on: false }),
                    ]
                }
                _ => Vec::new(),
            },
            ClientMsg::Offer { .. }
            | ClientMsg::Answer { .. }
            | ClientMsg::Quality { .. }
            | ClientMsg::Leave => refuse(error("bad_request", "Yêu cầu không hợp lệ.")),
        }
    }

    fn chat(&mut self, user: Uuid, text: &str, now: Now) -> Vec<Out> {
        let text = text.trim();
        if text.is_empty() {
            return vec![Out::To(user, error("bad_request", "Tin nhắn trống."))];
        }
        if text.chars().count() > CHAT_MAX_CHARS {
            return vec![Out::To(
                user,
                error("too_long", "Tin nhắn dài quá 500 ký tự."),
            )];
        }
        let m = self.member_mut(user).expect("a member");
        while m
            .chat_times
            .front()
            .is_some_and(|t| now.at.duration_since(*t) >= CHAT_WINDOW)
        {
            m.chat_times.pop_front();
        }
        if m.chat_times.len() >= CHAT_BURST {
            return vec![Out::To(
                user,
                error(
                    "rate_limited",
                    "Bạn gửi tin nhắn quá nhanh, hãy đợi vài giây.",
                ),
            )];
        }
        m.chat_times.push_back(now.at);
        let name = m.info.name.clone();
        let msg = ChatMsg {
            id: self.next_chat,
            from: user,
            name,
            text: text.to_owned(),
            at_ms: millis(now.wall),
        };
        self.next_chat += 1;
        self.chat.push_back(msg.clone());
        while self.chat.len() > CHAT_HISTORY {
            self.chat.pop_front();
        }
        vec![Out::All(ServerMsg::Chat { msg })]
    }

    fn hand(&mut self, user: Uuid, up: bool) -> Vec<Out> {
        let m = self.member_mut(user).expect("a member");
        if m.info.hand == up {
            return Vec::new();
        }
        m.info.hand = up;
        let peer = m.info.clone();
        if up {
            self.hands.push(user);
        } else {
            self.hands.retain(|h| *h != user);
        }
        vec![
            Out::All(ServerMsg::Peer { peer }),
            Out::All(ServerMsg::Hands {
                queue: self.hands.clone(),
            }),
        ]
    }

    fn set_perms(&mut self, target: Uuid, audio: bool, video: bool, out: &mut Vec<Out>) {
        let Some(m) = self.member_mut(target) else {
            return;
        };
        if m.info.audio == audio && m.info.video == video {
            return;
        }
        m.info.audio = audio;
        m.info.video = video;
        let peer = m.info.clone();
        out.push(Out::Perms {
            user: target,
            audio,
            video,
        });
        out.push(Out::To(target, ServerMsg::Allowed { audio, video }));
        out.push(Out::All(ServerMsg::Peer { peer }));
    }

    fn mute(&mut self, user: Uuid, target: Option<Uuid>) -> Vec<Out> {
        let targets: Vec<(Uuid, bool)> = match target {
            Some(t) => match self.member(t) {
                Some(m) if m.info.role == Role::Student => vec![(t, m.info.video)],
                Some(_) => {
                    return vec![Out::To(
                        user,
                        error("bad_request", "Chỉ tắt được micrô của học sinh."),
                    )];
                }
                None => {
                    return vec![Out::To(
                        user,
                        error("not_found", "Người này không còn trong lớp."),
                    )];
                }
            },
            None => self
                .members
                .iter()
                .filter(|m| m.info.role == Role::Student)
                .map(|m| (m.info.id, m.info.video))
                .collect(),
        };
        let mut out = Vec::new();
        for (t, video) in targets {
            self.set_perms(t, false, video, &mut out);
        }
        out
    }

    fn allow(&mut self, user: Uuid, target: Uuid, audio: bool, video: bool) -> Vec<Out> {
        match self.role(target) {
            Some(Role::Student) => {}
            Some(_) => {
                return vec![Out::To(
                    user,
                    error("bad_request", "Chỉ cấp quyền được cho học sinh."),
                )];
            }
            None => {
                return vec![Out::To(
                    user,
                    error("not_found", "Người này không còn trong lớp."),
                )];
            }
        }
        let mut out = Vec::new();
        self.set_perms(target, audio, video, &mut out);
        // Letting a student speak answers their raised hand.
        if audio && self.hands.contains(&target) {
            out.extend(self.hand(target, false));
        }
        out
    }

    fn remove(&mut self, user: Uuid, target: Uuid, now: Now) -> Vec<Out> {
        match self.role(target) {
            Some(Role::Teacher) => {
                return vec![Out::To(
                    user,
                    error("bad_request", "Không thể mời giáo viên ra khỏi lớp."),
                )];
            }
            Some(_) => {}
            None => {
                return vec![Out::To(
                    user,
                    error("not_found", "Người này không còn trong lớp."),
                )];
            }
        }
        self.removed.insert(target);
        let mut out = vec![Out::To(target, ServerMsg::Removed)];
        out.extend(self.drop_member(target, now.wall));
        out
    }

    fn poll_open(&mut self, user: Uuid, question: &str, options: &[String]) -> Vec<Out> {
        let question = question.trim();
        let options: Vec<String> = options.iter().map(|o| o.trim().to_owned()).collect();
        let bad = if question.is_empty() || question.chars().count() > POLL_QUESTION_MAX_CHARS {
            Some("Câu hỏi bình chọn phải có từ 1 đến 300 ký tự.")
        } else if !(2..=6).contains(&options.len()) {
            Some("Bình chọn phải có từ 2 đến 6 phương án.")
        } else if options
            .iter()
            .any(|o| o.is_empty() || o.chars().count() > POLL_OPTION_MAX_CHARS)
        {
            Some("Mỗi phương án phải có từ 1 đến 100 ký tự.")
        } else {
            None
        };
        if let Some(message) = bad {
            return vec![Out::To(user, error("bad_request", message))];
        }
        let mut out = Vec::new();
        if let Some(old) = self.poll.as_mut().filter(|p| p.open) {
            old.open = false;
            out.push(Out::Event(EventOut::PollClosed(
                old.question.clone(),
                old.results(),
            )));
        }
        self.poll = Some(Poll {
            id: self.next_poll,
            question: question.to_owned(),
            options,
            votes: Vec::new(),
            open: true,
        });
        self.next_poll += 1;
        self.push_poll(&mut out);
        out
    }

    fn push_poll(&self, out: &mut Vec<Out>) {
        let Some(poll) = &self.poll else { return };
        for m in self.members.iter().filter(|m| m.conn.is_some()) {
            out.push(Out::To(
                m.info.id,
                ServerMsg::Poll {
                    poll: poll.state_for(m.info.id),
                },
            ));
        }
    }

    fn poll_vote(&mut self, user: Uuid, id: u32, option: u32) -> Vec<Out> {
        let Some(poll) = self.poll.as_mut().filter(|p| p.open && p.id == id) else {
            return vec![Out::To(
                user,
                error("poll_closed", "Bình chọn này đã kết thúc."),
            )];
        };
        if option as usize >= poll.options.len() {
            return vec![Out::To(
                user,
                error("bad_request", "Phương án không hợp lệ."),
            )];
        }
        match poll.votes.iter_mut().find(|(u, _)| *u == user) {
            Some((_, o)) if *o == option => return Vec::new(),
            Some((_, o)) => *o = option,
            None => poll.votes.push((user, option)),
        }
        let mut out = Vec::new();
        self.push_poll(&mut out);
        out
    }

    fn poll_close(&mut self, user: Uuid, id: u32) -> Vec<Out> {
        let Some(poll) = self.poll.as_mut().filter(|p| p.open && p.id == id) else {
            return vec![Out::To(
                user,
                error("poll_closed", "Bình chọn này đã kết thúc."),
            )];
        };
        poll.open = false;
        let mut out = vec![Out::Event(EventOut::PollClosed(
            poll.question.clone(),
            poll.results(),
        ))];
        self.push_poll(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T {
        room: Room,
        t0: Instant,
        w0: SystemTime,
    }

    fn at(t: &T, secs: u64) -> Now {
        Now {
            at: t.t0 + Duration::from_secs(secs),
            wall: t.w0 + Duration::from_secs(secs),
        }
    }

    fn who(n: u128, role: Role) -> Participant {
        Participant {
            user_id: Uuid::from_u128(n),
            name: format!("Người {n}"),
            role,
        }
    }

    const TEACHER: u128 = 1;
    const AN: u128 = 2;
    const BINH: u128 = 3;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn setup() -> T {
        let spec = RoomSpec {
            room_id: Uuid::from_u128(99),
            school_id: Uuid::from_u128(98),
            title: "Toán".into(),
        };
        let mut t = T {
            room: Room::new(spec, Duration::from_secs(20)),
            t0: Instant::now(),
            w0: SystemTime::UNIX_EPOCH,
        };
        let now = at(&t, 0);
        t.room.join(&who(TEACHER, Role::Teacher), 1, now).unwrap();
        t.room.join(&who(AN, Role::Student), 2, now).unwrap();
        t.room.join(&who(BINH, Role::Student), 3, now).unwrap();
        t
    }

    fn events(out: &[Out]) -> Vec<EventOut> {
        out.iter()
            .filter_map(|o| {
                if let Out::Event(e) = o {
                    Some(e.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    fn error_code(out: &[Out]) -> Option<String> {
        out.iter().find_map(|o| match o {
            Out::To(_, ServerMsg::Error { code, .. }) => Some(code.clone()),
            _ => None,
        })
    }

    #[test]
    fn join_welcomes_and_announces_with_cameras_off_for_students() {
        let mut t = setup();
        let out = t.room.join(&who(4, Role::Student), 4, at(&t, 1)).unwrap();
        let Out::To(to, ServerMsg::Welcome { me, room }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(*to, id(4));
        assert!(!me.audio && !me.video && me.online);
        assert_eq!(room.peers.len(), 4);
        assert!(
            room.peers[0].audio && room.peers[0].video,
            "the teacher publishes"
        );
        assert!(matches!(&out[1], Out::Others(u, ServerMsg::Peer { .. }) if *u == id(4)));
        assert_eq!(
            events(&out),
            vec![EventOut::Joined(id(4), t.w0 + Duration::from_secs(1))]
        );
    }

    #[test]
    fn broken_connection_keeps_place_until_grace_then_leaves_at_break_time() {
        let mut t = setup();
        t.room.hand(id(AN), true);
        t.room.hand(id(BINH), true);
        let out = t.room.disconnected(id(AN), 2, at(&t, 5));
        assert!(
            out.iter()
                .any(|o| matches!(o, Out::Others(_, ServerMsg::Peer { peer }) if !peer.online))
        );
        assert_eq!(t.room.next_deadline(), Some(t.t0 + Duration::from_secs(25)));
        assert!(
            t.room.tick(at(&t, 24)).is_empty(),
            "still within the grace period"
        );
        let out = t.room.tick(at(&t, 25));
        assert_eq!(
            events(&out),
            vec![EventOut::Left(id(AN), t.w0 + Duration::from_secs(5))]
        );
        assert!(out.contains(&Out::All(ServerMsg::Hands {
            queue: vec![id(BINH)]
        })));
        assert_eq!(t.room.len(), 2);
    }

    #[test]
    fn reconnection_within_grace_keeps_hand_position_and_permissions_without_new_visit() {
        let mut t = setup();
        t.room.hand(id(AN), true);
        t.room.hand(id(BINH), true);
        t.room.handle(
            id(TEACHER),
            ClientMsg::Allow {
                target: id(AN),
                audio: false,
                video: true,
            },
            at(&t, 1),
        );
        t.room.disconnected(id(AN), 2, at(&t, 5));
        let out = t.room.join(&who(AN, Role::Student), 7, at(&t, 15)).unwrap();
        assert!(events(&out).is_empty(), "no new visit");
        let Out::To(_, ServerMsg::Welcome { me, room }) = &out[0] else {
            panic!("{out:?}")
        };
        assert!(me.online && me.video && me.hand);
        assert_eq!(room.hands, vec![id(AN), id(BINH)]);
        assert!(
            t.room.tick(at(&t, 60)).is_empty(),
            "the grace period was cancelled"
        );
        assert_eq!(t.room.conn_of(id(AN)), Some(7));
    }

    #[test]
    fn second_connection_replaces_the_first() {
        let mut t = setup();
        let out = t.room.join(&who(AN, Role::Student), 9, at(&t, 1)).unwrap();
        assert_eq!(
            out[0],
            Out::Close {
                user: id(AN),
                conn: 2
            }
        );
        assert!(events(&out).is_empty());
        // The old connection's goodbye or break no longer counts.
        assert!(t.room.leave(id(AN), 2, at(&t, 2)).is_empty());
        assert!(t.room.disconnected(id(AN), 2, at(&t, 2)).is_empty());
        assert_eq!(t.room.online(), 3);
    }

    #[test]
    fn leave_is_immediate() {
        let mut t = setup();
        let out = t.room.leave(id(BINH), 3, at(&t, 3));
        assert_eq!(
            events(&out),
            vec![EventOut::Left(id(BINH), t.w0 + Duration::from_secs(3))]
        );
        assert!(out.contains(&Out::Close {
            user: id(BINH),
            conn: 3
        }));
        assert!(out.contains(&Out::All(ServerMsg::Left { id: id(BINH) })));
    }

    #[test]
    fn lock_refuses_newcomers_but_not_returning_members_or_the_teacher() {
        let mut t = setup();
        let out = t
            .room
            .handle(id(AN), ClientMsg::Lock { locked: true }, at(&t, 1));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        t.room
            .handle(id(TEACHER), ClientMsg::Lock { locked: true }, at(&t, 1));
        assert_eq!(
            t.room
                .join(&who(5, Role::Student), 5, at(&t, 2))
                .unwrap_err(),
            JoinError::Locked
        );
        assert_eq!(
            t.room
                .join(&who(6, Role::Observer), 6, at(&t, 2))
                .unwrap_err(),
            JoinError::Locked
        );
        t.room.disconnected(id(AN), 2, at(&t, 3));
        assert!(t.room.join(&who(AN, Role::Student), 8, at(&t, 4)).is_ok());
        t.room.leave(id(TEACHER), 1, at(&t, 5));
        assert!(
            t.room
                .join(&who(TEACHER, Role::Teacher), 10, at(&t, 6))
                .is_ok()
        );
        t.room
            .handle(id(TEACHER), ClientMsg::Lock { locked: false }, at(&t, 7));
        assert!(t.room.join(&who(5, Role::Student), 5, at(&t, 8)).is_ok());
    }

    #[test]
    fn removed_student_is_told_closed_and_cannot_return() {
        let mut t = setup();
        let out = t
            .room
            .handle(id(AN), ClientMsg::Remove { target: id(BINH) }, at(&t, 1));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Remove { target: id(BINH) },
            at(&t, 2),
        );
        assert_eq!(out[0], Out::To(id(BINH), ServerMsg::Removed));
        assert!(out.contains(&Out::Close {
            user: id(BINH),
            conn: 3
        }));
        assert_eq!(
            events(&out),
            vec![EventOut::Left(id(BINH), t.w0 + Duration::from_secs(2))]
        );
        assert_eq!(
            t.room
                .join(&who(BINH, Role::Student), 11, at(&t, 3))
                .unwrap_err(),
            JoinError::Removed
        );
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Remove {
                target: id(TEACHER),
            },
            at(&t, 4),
        );
        assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
    }

    #[test]
    fn chat_is_trimmed_bounded_and_flood_limited() {
        let mut t = setup();
        let out = t.room.handle(
            id(AN),
            ClientMsg::Chat {
                text: "  Chào cô  ".into(),
            },
            at(&t, 0),
        );
        let Out::All(ServerMsg::Chat { msg }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(msg.text, "Chào cô");
        assert_eq!(msg.from, id(AN));
        let out = t
            .room
            .handle(id(AN), ClientMsg::Chat { text: "   ".into() }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        let long = "ă".repeat(501);
        let out = t
            .room
            .handle(id(AN), ClientMsg::Chat { text: long }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("too_long"));
        for _ in 0..4 {
            let out = t
                .room
                .handle(id(AN), ClientMsg::Chat { text: "a".into() }, at(&t, 1));
            assert!(error_code(&out).is_none());
        }
        let out = t
            .room
            .handle(id(AN), ClientMsg::Chat { text: "a".into() }, at(&t, 2));
        assert_eq!(error_code(&out).as_deref(), Some("rate_limited"));
        // Others are not affected.
        let out = t
            .room
            .handle(id(BINH), ClientMsg::Chat { text: "b".into() }, at(&t, 2));
        assert!(error_code(&out).is_none());
        // The window slides: the first message is 10 s old now.
        let out = t
            .room
            .handle(id(AN), ClientMsg::Chat { text: "c".into() }, at(&t, 10));
        assert!(error_code(&out).is_none());
    }

    #[test]
    fn chat_history_is_bounded_and_hidden_messages_leave_it() {
        let mut t = setup();
        for i in 0..(CHAT_HISTORY as u64 + 10) {
            t.room.handle(
                id(AN),
                ClientMsg::Chat {
                    text: format!("{i}"),
                },
                at(&t, i * 10),
            );
        }
        let out = t
            .room
            .handle(id(AN), ClientMsg::ChatHide { id: 205 }, at(&t, 5000));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let out = t
            .room
            .handle(id(TEACHER), ClientMsg::ChatHide { id: 205 }, at(&t, 5000));
        assert_eq!(out, vec![Out::All(ServerMsg::ChatHidden { id: 205 })]);
        let chat = t.room.state_for(id(AN)).chat;
        assert_eq!(chat.len(), CHAT_HISTORY - 1);
        assert_eq!(chat[0].id, 11);
        assert!(chat.iter().all(|m| m.id != 205));
    }

    #[test]
    fn mute_one_and_all_and_allow() {
        let mut t = setup();
        let out = t.room.handle(
            id(AN),
            ClientMsg::Allow {
                target: id(AN),
                audio: true,
                video: true,
            },
            at(&t, 0),
        );
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        t.room.hand(id(AN), true);
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Allow {
                target: id(AN),
                audio: true,
                video: true,
            },
            at(&t, 0),
        );
        assert!(out.contains(&Out::Perms {
            user: id(AN),
            audio: true,
            video: true
        }));
        assert!(out.contains(&Out::To(
            id(AN),
            ServerMsg::Allowed {
                audio: true,
                video: true
            }
        )));
        assert!(
            out.contains(&Out::All(ServerMsg::Hands { queue: vec![] })),
            "allowing to speak lowers the hand"
        );
        t.room.handle(
            id(TEACHER),
            ClientMsg::Allow {
                target: id(BINH),
                audio: true,
                video: false,
            },
            at(&t, 0),
        );
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Mute {
                target: Some(id(AN)),
            },
            at(&t, 0),
        );
        assert!(
            out.contains(&Out::Perms {
                user: id(AN),
                audio: false,
                video: true
            }),
            "mute keeps video"
        );
        assert!(t.room.peer(id(BINH)).unwrap().audio);
        let out = t
            .room
            .handle(id(TEACHER), ClientMsg::Mute { target: None }, at(&t, 0));
        assert!(out.contains(&Out::Perms {
            user: id(BINH),
            audio: false,
            video: false
        }));
        assert!(
            t.room.peer(id(TEACHER)).unwrap().audio,
            "the teacher is never muted"
        );
        let out = t
            .room
            .handle(id(BINH), ClientMsg::Mute { target: None }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
    }

    #[test]
    fn hands_queue_in_order() {
        let mut t = setup();
        t.room
            .handle(id(BINH), ClientMsg::Hand { up: true }, at(&t, 0));
        let out = t
            .room
            .handle(id(AN), ClientMsg::Hand { up: true }, at(&t, 1));
        assert!(out.contains(&Out::All(ServerMsg::Hands {
            queue: vec![id(BINH), id(AN)]
        })));
        assert!(
            t.room
                .handle(id(AN), ClientMsg::Hand { up: true }, at(&t, 1))
                .is_empty()
        );
        let out = t
            .room
            .handle(id(BINH), ClientMsg::Hand { up: false }, at(&t, 2));
        assert!(out.contains(&Out::All(ServerMsg::Hands {
            queue: vec![id(AN)]
        })));
    }

    fn poll_of(out: &[Out], user: Uuid) -> PollState {
        out.iter()
            .find_map(|o| match o {
                Out::To(u, ServerMsg::Poll { poll }) if *u == user => Some(poll.clone()),
                _ => None,
            })
            .expect("a poll update")
    }

    #[test]
    fn polls_validate_count_one_changeable_vote_and_close() {
        let mut t = setup();
        let opts = |n: usize| (0..n).map(|i| format!("Phương án {i}")).collect::<Vec<_>>();
        let out = t.room.handle(
            id(AN),
            ClientMsg::PollOpen {
                question: "?".into(),
                options: opts(2),
            },
            at(&t, 0),
        );
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        for bad in [opts(1), opts(7), vec!["a".into(), " ".into()]] {
            let out = t.room.handle(
                id(TEACHER),
                ClientMsg::PollOpen {
                    question: "2+2?".into(),
                    options: bad,
                },
                at(&t, 0),
            );
            assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        }
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::PollOpen {
                question: "2+2?".into(),
                options: opts(3),
            },
            at(&t, 0),
        );
        let poll = poll_of(&out, id(AN));
        assert!(poll.open);
        t.room.handle(
            id(AN),
            ClientMsg::PollVote {
                poll: poll.id,
                option: 0,
            },
            at(&t, 1),
        );
        let out = t.room.handle(
            id(BINH),
            ClientMsg::PollVote {
                poll: poll.id,
                option: 1,
            },
            at(&t, 1),
        );
        assert_eq!(poll_of(&out, id(BINH)).counts, vec![1, 1, 0]);
        assert_eq!(poll_of(&out, id(BINH)).mine, Some(1));
        let out = t.room.handle(
            id(AN),
            ClientMsg::PollVote {
                poll: poll.id,
                option: 1,
            },
            at(&t, 2),
        );
        assert_eq!(
            poll_of(&out, id(AN)).counts,
            vec![0, 2, 0],
            "a new vote replaces the old one"
        );
        let out = t.room.handle(
            id(AN),
            ClientMsg::PollVote {
                poll: poll.id,
                option: 3,
            },
            at(&t, 2),
        );
        assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        let out = t
            .room
            .handle(id(AN), ClientMsg::PollClose { poll: poll.id }, at(&t, 3));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::PollClose { poll: poll.id },
            at(&t, 3),
        );
        assert_eq!(
            events(&out),
            vec![EventOut::PollClosed(
                "2+2?".into(),
                vec![
                    ("Phương án 0".into(), 0),
                    ("Phương án 1".into(), 2),
                    ("Phương án 2".into(), 0)
                ]
            )]
        );
        assert!(!poll_of(&out, id(AN)).open);
        let out = t.room.handle(
            id(BINH),
            ClientMsg::PollVote {
                poll: poll.id,
                option: 0,
            },
            at(&t, 4),
        );
        assert_eq!(error_code(&out).as_deref(), Some("poll_closed"));
    }

    #[test]
    fn opening_a_poll_closes_the_open_one() {
        let mut t = setup();
        let options = vec!["Có".to_string(), "Không".to_string()];
        t.room.handle(
            id(TEACHER),
            ClientMsg::PollOpen {
                question: "A?".into(),
                options: options.clone(),
            },
            at(&t, 0),
        );
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::PollOpen {
                question: "B?".into(),
                options,
            },
            at(&t, 1),
        );
        assert!(matches!(&events(&out)[..], [EventOut::PollClosed(q, _)] if q == "A?"));
        assert_eq!(poll_of(&out, id(AN)).question, "B?");
    }

    #[test]
    fn slides_are_the_teachers_follow_the_page_and_reach_late_joiners() {
        let mut t = setup();
        let deck = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_string();
        let show = |deck: &str, pages| ClientMsg::Slides {
            deck: Some(deck.into()),
            pages,
        };
        // Students cannot present or turn pages.
        let out = t.room.handle(id(AN), show(&deck, 3), at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let out = t
            .room
            .handle(id(AN), ClientMsg::SlidePage { page: 1 }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        // No deck yet: no page to turn to.
        let out = t
            .room
            .handle(id(TEACHER), ClientMsg::SlidePage { page: 1 }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        // Bad decks change nothing.
        for bad in [
            show("", 3),
            show("../x", 3),
            show(&deck, 0),
            show(&deck, MAX_SLIDE_PAGES + 1),
        ] {
            let out = t.room.handle(id(TEACHER), bad, at(&t, 0));
            assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        }
        let state = |page| {
            Some(SlideState {
                deck: deck.clone(),
                pages: 3,
                page,
            })
        };
        let out = t.room.handle(id(TEACHER), show(&deck, 3), at(&t, 1));
        assert_eq!(out, vec![Out::All(ServerMsg::Slides { slides: state(1) })]);
        let out = t
            .room
            .handle(id(TEACHER), ClientMsg::SlidePage { page: 3 }, at(&t, 2));
        assert_eq!(out, vec![Out::All(ServerMsg::Slides { slides: state(3) })]);
        for page in [0, 4] {
            let out = t
                .room
                .handle(id(TEACHER), ClientMsg::SlidePage { page }, at(&t, 3));
            assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        }
        // Someone arriving now sees page 3.
        let out = t.room.join(&who(9, Role::Observer), 9, at(&t, 4)).unwrap();
        let Out::To(_, ServerMsg::Welcome { room, .. }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(room.slides, state(3));
        // Stopping clears it for everyone.
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Slides {
                deck: None,
                pages: 0,
            },
            at(&t, 5),
        );
        assert_eq!(out, vec![Out::All(ServerMsg::Slides { slides: None })]);
        let out = t.room.join(&who(10, Role::Student), 10, at(&t, 6)).unwrap();
        let Out::To(_, ServerMsg::Welcome { room, .. }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(room.slides, None);
    }

    fn item(tool: &str, points: usize) -> BoardItem {
        BoardItem {
            tool: tool.into(),
            color: "#1a2B3c".into(),
            width: 3.0,
            points: vec![[0.5, 0.5]; points],
            text: None,
        }
    }

    #[test]
    fn whiteboard_is_the_teachers_and_validated() {
        let mut t = setup();
        let out = t.room.handle(
            id(AN),
            ClientMsg::Board {
                item: item("pen", 3),
            },
            at(&t, 0),
        );
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let mut text = item("text", 1);
        text.text = Some("x = 2".into());
        for good in [
            item("pen", 1),
            item("pen", BOARD_MAX_POINTS),
            item("line", 2),
            item("ellipse", 2),
            text.clone(),
        ] {
            let out = t.room.handle(
                id(TEACHER),
                ClientMsg::Board { item: good.clone() },
                at(&t, 0),
            );
            assert_eq!(out, vec![Out::All(ServerMsg::Board { item: good })]);
        }
        let mut bad_color = item("pen", 2);
        bad_color.color = "red".into();
        let mut outside = item("pen", 2);
        outside.points[1] = [1.5, 0.0];
        let mut nan = item("pen", 2);
        nan.width = f32::NAN;
        let mut long_text = text.clone();
        long_text.text = Some("a".repeat(201));
        let mut text_on_pen = item("pen", 2);
        text_on_pen.text = Some("a".into());
        for bad in [
            item("pen", 0),
            item("pen", BOARD_MAX_POINTS + 1),
            item("rect", 3),
            item("laser", 2),
            bad_color,
            outside,
            nan,
            long_text,
            text_on_pen,
        ] {
            let out = t
                .room
                .handle(id(TEACHER), ClientMsg::Board { item: bad }, at(&t, 0));
            assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        }
        assert_eq!(t.room.board.len(), 5);
        assert_eq!(
            t.room.handle(id(TEACHER), ClientMsg::BoardUndo, at(&t, 0)),
            vec![Out::All(ServerMsg::BoardUndo)]
        );
        assert_eq!(t.room.board.len(), 4);
        let out = t.room.handle(id(AN), ClientMsg::BoardClear, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        t.room.handle(id(TEACHER), ClientMsg::BoardClear, at(&t, 0));
        assert!(t.room.state_for(id(AN)).board.is_empty());
    }

    #[test]
    fn recording_is_the_teachers_and_stops_when_the_room_closes() {
        let mut t = setup();
        let out = t
            .room
            .handle(id(AN), ClientMsg::Record { on: true }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
        let out = t
            .room
            .handle(id(TEACHER), ClientMsg::Record { on: true }, at(&t, 0));
        assert!(out.contains(&Out::Record {
            on: true,
            by: id(TEACHER)
        }));
        assert!(
            t.room
                .handle(id(TEACHER), ClientMsg::Record { on: true }, at(&t, 0))
                .is_empty()
        );
        t.room.disconnected(id(BINH), 3, at(&t, 5));
        let out = t.room.close(at(&t, 9));
        let left = events(&out);
        assert_eq!(left.len(), 3);
        assert!(left.contains(&EventOut::Left(id(BINH), t.w0 + Duration::from_secs(5))));
        assert!(left.contains(&EventOut::Left(id(AN), t.w0 + Duration::from_secs(9))));
        assert_eq!(
            out.iter()
                .filter(|o| matches!(o, Out::Record { on: false, .. }))
                .count(),
            1
        );
        assert!(t.room.is_empty());
    }

    #[test]
    fn observers_watch_and_chat_but_never_publish() {
        let mut t = setup();
        let out = t.room.join(&who(7, Role::Observer), 7, at(&t, 0)).unwrap();
        let Out::To(_, ServerMsg::Welcome { me, .. }) = &out[0] else {
            panic!()
        };
        assert!(!me.audio && !me.video);
        let out = t.room.handle(
            id(TEACHER),
            ClientMsg::Allow {
                target: id(7),
                audio: true,
                video: true,
            },
            at(&t, 0),
        );
        assert_eq!(error_code(&out).as_deref(), Some("bad_request"));
        let out = t.room.handle(
            id(7),
            ClientMsg::Chat {
                text: "Chào các em".into(),
            },
            at(&t, 0),
        );
        assert!(error_code(&out).is_none());
        let out = t
            .room
            .handle(id(7), ClientMsg::Lock { locked: true }, at(&t, 0));
        assert_eq!(error_code(&out).as_deref(), Some("forbidden"));
    }
}
