//! Signalling and classroom messages, exchanged as JSON text frames over the app's WebSocket.
//! Every message is an object whose `t` field names its kind (`{"t":"chat","text":"…"}`).
//!
//! Media negotiation: the browser sends exactly one [`ClientMsg::Offer`] per peer connection, with
//! fixed send-only transceivers in this order — microphone audio, camera video (the teacher's with
//! three simulcast encodings `q`, `h`, `f`), and, for the teacher, screen video — possibly without
//! tracks yet (`replaceTrack` later needs no renegotiation). The server answers; from then on
//! only the server offers (to add the tracks of others), so offers never cross.

use crate::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Messages from the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The browser's offer (once per peer connection).
    Offer {
        /// SDP.
        sdp: String,
    },
    /// The browser's answer to a server offer.
    Answer {
        /// SDP.
        sdp: String,
    },
    /// A chat message (at most 500 characters).
    Chat {
        /// Text.
        text: String,
    },
    /// Raise or lower one's hand.
    Hand {
        /// Raised.
        up: bool,
    },
    /// Teacher: mute one participant's microphone, or everyone's (`target` absent).
    Mute {
        /// Account to mute; absent mutes all students.
        #[serde(default)]
        target: Option<Uuid>,
    },
    /// Teacher: let a student speak and/or show video (or take it back).
    Allow {
        /// Student.
        target: Uuid,
        /// May send audio.
        audio: bool,
        /// May send camera video.
        video: bool,
    },
    /// Teacher: remove a student from this session (they cannot come back to it).
    Remove {
        /// Student.
        target: Uuid,
    },
    /// Teacher: lock or unlock the room to new arrivals.
    Lock {
        /// Locked.
        locked: bool,
    },
    /// Teacher: hide a chat message from everyone.
    ChatHide {
        /// Message id.
        id: u64,
    },
    /// Teacher: open a poll (closes any open one).
    PollOpen {
        /// Question.
        question: String,
        /// Two to six options.
        options: Vec<String>,
    },
    /// Vote in the open poll (a new vote replaces one's earlier vote).
    PollVote {
        /// Poll id.
        poll: u32,
        /// Option index.
        option: u32,
    },
    /// Teacher: close the open poll.
    PollClose {
        /// Poll id.
        poll: u32,
    },
    /// Teacher: add a whiteboard item.
    Board {
        /// The item.
        item: BoardItem,
    },
    /// Teacher: remove the last whiteboard item.
    BoardUndo,
    /// Teacher: clear the whiteboard.
    BoardClear,
    /// Teacher: present a slide deck (the pages of an uploaded PDF, rendered by the web
    /// layer) from its first page, or stop presenting (`deck` empty).
    Slides {
        /// The deck's id (`None` stops).
        deck: Option<String>,
        /// Its number of pages.
        #[serde(default)]
        pages: u32,
    },
    /// Teacher: show page `page` (from 1) of the deck being presented.
    SlidePage {
        /// The page.
        page: u32,
    },
    /// Which video quality to receive: `audio_only` stops all video to this browser.
    Quality {
        /// Preference.
        quality: Quality,
    },
    /// Teacher: start or stop recording.
    Record {
        /// Recording.
        on: bool,
    },
    /// Leaving on purpose (counts as a leave at once, without the grace period).
    Leave,
    /// Keep-alive; answered with [`ServerMsg::Pong`].
    Ping,
}

/// Video quality a subscriber asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// No video at all.
    AudioOnly,
    /// The lowest simulcast layer (`q`).
    Low,
    /// The middle layer (`h`).
    Medium,
    /// The best layer the subscriber's bandwidth allows (default).
    Auto,
}

/// A whiteboard item. Coordinates are fractions of the board (0.0–1.0), so boards of any
/// size show the same picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardItem {
    /// `pen`, `line`, `rect`, `ellipse` or `text`.
    pub tool: String,
    /// CSS colour `#rrggbb`.
    pub color: String,
    /// Stroke width in board units (fraction × 1000).
    pub width: f32,
    /// Points: the pen's path, or the two corners of a line/shape, or the text's anchor.
    pub points: Vec<[f32; 2]>,
    /// Text of a `text` item.
    #[serde(default)]
    pub text: Option<String>,
}

/// Someone in the room, as others see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Account id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// May send audio (the teacher always may).
    pub audio: bool,
    /// May send camera video.
    pub video: bool,
    /// Hand raised.
    pub hand: bool,
    /// Connected now (false while within the reconnection grace period).
    pub online: bool,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMsg {
    /// Id, increasing within the room.
    pub id: u64,
    /// Sender's account.
    pub from: Uuid,
    /// Sender's name.
    pub name: String,
    /// Text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// A poll and its live results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    /// Id.
    pub id: u32,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Votes per option.
    pub counts: Vec<u32>,
    /// Still accepting votes.
    pub open: bool,
    /// This receiver's own vote.
    pub mine: Option<u32>,
}

/// What a media line (`mid`) the server offered carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The SDP media id in this browser's peer connection.
    pub mid: String,
    /// Whose track it is.
    pub peer: Uuid,
    /// `audio` or `video`.
    pub kind: String,
    /// `mic`, `camera` or `screen`.
    pub source: String,
}

/// Everything a newcomer needs to draw the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomState {
    /// Title.
    pub title: String,
    /// Everyone in the room, the newcomer included.
    pub peers: Vec<PeerInfo>,
    /// Recent chat (at most 200 messages, hidden ones left out).
    pub chat: Vec<ChatMsg>,
    /// Raised hands in the order they were raised.
    pub hands: Vec<Uuid>,
    /// Locked to new arrivals.
    pub locked: bool,
    /// The current poll, if any.
    pub poll: Option<PollState>,
    /// Whiteboard items in drawing order.
    pub board: Vec<BoardItem>,
    /// Recording now.
    pub recording: bool,
    /// The slide deck being presented, if any.
    #[serde(default)]
    pub slides: Option<SlideState>,
}

/// The slide deck being presented and its current page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlideState {
    /// The deck's id (its pages are images served by the web layer).
    pub deck: String,
    /// Number of pages.
    pub pages: u32,
    /// The page shown, from 1.
    pub page: u32,
}

/// Messages to the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message of every connection.
    Welcome {
        /// The receiver.
        me: PeerInfo,
        /// The room.
        room: RoomState,
    },
    /// Answer to the browser's offer.
    Answer {
        /// SDP.
        sdp: String,
    },
    /// The server adds (or removes) tracks; the browser answers with [`ClientMsg::Answer`].
    Offer {
        /// SDP.
        sdp: String,
    },
    /// The tracks this browser receives, by mid (sent after every offer/answer).
    Tracks {
        /// Tracks.
        tracks: Vec<TrackInfo>,
    },
    /// Someone arrived or changed (permissions, hand, online).
    Peer {
        /// Their state.
        peer: PeerInfo,
    },
    /// Someone left.
    Left {
        /// Account.
        id: Uuid,
    },
    /// A chat message.
    Chat {
        /// Message.
        msg: ChatMsg,
    },
    /// A chat message was hidden by the teacher.
    ChatHidden {
        /// Message id.
        id: u64,
    },
    /// The raise-hand queue changed.
    Hands {
        /// In order.
        queue: Vec<Uuid>,
    },
    /// The receiver's own permissions changed: stop sending what is not allowed.
    Allowed {
        /// May send audio.
        audio: bool,
        /// May send camera video.
        video: bool,
    },
    /// The receiver was removed; the server closes the connection after this.
    Removed,
    /// The room was locked or unlocked.
    Locked {
        /// Locked.
        locked: bool,
    },
    /// A poll opened, changed or closed.
    Poll {
        /// The poll.
        poll: PollState,
    },
    /// A whiteboard item was added.
    Board {
        /// The item.
        item: BoardItem,
    },
    /// The last whiteboard item was removed.
    BoardUndo,
    /// The whiteboard was cleared.
    BoardClear,
    /// The presentation started, moved to another page or stopped (`None`).
    Slides {
        /// The deck and page.
        slides: Option<SlideState>,
    },
    /// Recording started or stopped.
    Recording {
        /// Recording.
        on: bool,
    },
    /// A request was refused; `message` is Vietnamese, for the user.
    Error {
        /// Machine-readable reason (`rate_limited`, `forbidden`, `bad_sdp`, `bad_request`, …).
        code: String,
        /// What went wrong, for the user.
        message: String,
    },
    /// Answer to [`ClientMsg::Ping`].
    Pong,
    /// Someone in the room cannot decode the H.264 video this browser sends (a Firefox without
    /// its H.264 plug-in): the browser starts its media session again with VP8 first, which
    /// every browser decodes.
    UseVp8,
}
