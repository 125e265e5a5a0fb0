// lophoc — the live classroom: WebRTC media through lophoc's own media server, chat with
// moderation, raised hands, polls, a shared whiteboard and the teacher's controls.
// No framework, no build step; the page (templates/live_room.html) holds the static skeleton.
//
// Signalling (crates/live/src/proto.rs): JSON over a WebSocket. We send exactly ONE offer per
// RTCPeerConnection, with fixed send-only transceivers — mic, camera (the teacher's with three
// simulcast layers q/h/f), screen (teacher only) — possibly still without tracks: turning a
// device on later is a replaceTrack, never a renegotiation. Afterwards only the server offers
// (to add others' tracks); we answer. `{t:"tracks"}` says whose track each mid carries.
const root = document.getElementById("live-room");
if (root) main(root);

function main(root) {
const d = root.dataset;
const role = d.role, me = d.me, isTeacher = role === "teacher", isStudent = role === "student";
const en = document.documentElement.lang === "en";
const T = en ? {
  connecting: "Connecting…", reconnecting: "Reconnecting…", reconnected: "Connected again.",
  offline: "No network. The class reconnects by itself when it is back.", left: "You left the class.",
  removed: "You were removed from this session.", replaced: "You joined this class from another window.",
  refused: "Could not enter the class.", tokenFail: "Could not enter the class (code {0}).",
  allowedAudio: "The teacher lets you speak: tap Micro to turn it on.", allowedVideo: "The teacher lets you turn on your camera.",
  revokedAudio: "The teacher turned your microphone off.", revokedVideo: "The teacher turned your camera off.",
  mediaFail: "Could not open the microphone or camera ({0}).", shareFail: "Could not share the screen.",
  weak: "Weak network: switched to audio only. Tap “Audio only” again to get video back.",
  waitAllow: "Waiting for the teacher's permission", teacher: "Teacher", student: "Student", observer: "Observer",
  you: "you", screenOf: "{0} — screen", away: "connection lost", hand: "hand raised", canSpeak: "may speak",
  canVideo: "may show video", allowSpeak: "Let speak", stopSpeak: "Stop speaking", allowVideo: "Allow camera",
  stopVideo: "Stop camera", mute: "Mute", remove: "Remove", removeAsk: "Remove {0} from this session? They cannot come back to it.",
  locked: "The room is locked: nobody else can enter.", unlocked: "The room is open again.",
  recording: "This class is being recorded.", recordStopped: "Recording stopped.", hide: "Hide",
  hideLabel: "Hide the message from {0}", noChat: "No messages yet.", noHands: "No raised hands.",
  noPoll: "No poll yet.", closed: "closed", votes: "{0} votes", closePoll: "Close the poll",
  pollNeed: "Write a question and 2 to 6 options, one per line.", vote: "Vote “{0}”",
  saved: "Whiteboard saved.", saveFail: "Could not save the whiteboard (code {0}).", clearAsk: "Clear the whole whiteboard?",
  textNeed: "Type the text in the box first, then tap the board.", noVideo: "No video from the teacher yet.",
  audioOnly: "Audio only: video is off to save the network.", unmute: "Tap to hear the class", people: "{0} people",
  slidePage: "Page {0} of {1}", slideAlt: "Slide, page {0}", slidesUp: "Preparing the slides…", slidesFail: "Could not present the PDF (code {0}).",
} : {
  connecting: "Đang kết nối…", reconnecting: "Đang kết nối lại…", reconnected: "Đã kết nối lại.",
  offline: "Mất mạng. Lớp sẽ tự kết nối lại khi có mạng.", left: "Bạn đã rời lớp.",
  removed: "Bạn đã được mời ra khỏi buổi học này.", replaced: "Bạn đã vào lớp từ một cửa sổ khác.",
  refused: "Không vào được lớp.", tokenFail: "Không vào được lớp (mã {0}).",
  allowedAudio: "Giáo viên cho phép bạn nói: bấm Micro để bật.", allowedVideo: "Giáo viên cho phép bạn bật camera.",
  revokedAudio: "Giáo viên đã tắt micro của bạn.", revokedVideo: "Giáo viên đã tắt camera của bạn.",
  mediaFail: "Không mở được micro hoặc camera ({0}).", shareFail: "Không chia sẻ được màn hình.",
  weak: "Mạng yếu: đã chuyển sang chế độ chỉ âm thanh. Bấm “Chỉ âm thanh” lần nữa để xem lại hình.",
  waitAllow: "Chờ giáo viên cho phép", teacher: "Giáo viên", student: "Học sinh", observer: "Dự giờ",
  you: "bạn", screenOf: "{0} — màn hình", away: "mất kết nối", hand: "đang giơ tay", canSpeak: "được nói",
  canVideo: "được bật camera", allowSpeak: "Cho nói", stopSpeak: "Thôi nói", allowVideo: "Cho bật camera",
  stopVideo: "Thôi camera", mute: "Tắt micro", remove: "Mời ra", removeAsk: "Mời {0} ra khỏi buổi học? Học sinh sẽ không vào lại được buổi này.",
  locked: "Phòng đã khoá: không ai vào thêm được.", unlocked: "Phòng đã mở khoá.",
  recording: "Buổi học đang được ghi hình.", recordStopped: "Đã dừng ghi hình.", hide: "Ẩn",
  hideLabel: "Ẩn tin nhắn của {0}", noChat: "Chưa có tin nhắn.", noHands: "Chưa ai giơ tay.",
  noPoll: "Chưa có bình chọn.", closed: "đã đóng", votes: "{0} phiếu", closePoll: "Đóng bình chọn",
  pollNeed: "Cần câu hỏi và 2–6 lựa chọn, mỗi dòng một lựa chọn.", vote: "Chọn “{0}”",
  saved: "Đã lưu bảng.", saveFail: "Không lưu được bảng (mã {0}).", clearAsk: "Xoá toàn bộ bảng?",
  textNeed: "Nhập chữ vào ô trước, rồi chạm lên bảng.", noVideo: "Chưa có hình của giáo viên.",
  audioOnly: "Chế độ chỉ âm thanh: đã tắt hình để đỡ tốn mạng.", unmute: "Chạm để nghe lớp học", people: "{0} người",
  slidePage: "Trang {0}/{1}", slideAlt: "Trang trình chiếu {0}", slidesUp: "Đang chuẩn bị trang trình chiếu…", slidesFail: "Không trình chiếu được tệp PDF (mã {0}).",
};
const fmt = (s, ...a) => s.replace(/\{(\d)\}/g, (_, i) => a[i]);
const $ = (sel) => root.querySelector(sel);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e && k !== "list") e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.filter((x) => x != null));
  return e;
};

// ---------- state ----------
const S = {
  peers: new Map(), chat: [], hands: [], poll: null, board: [], pending: [], locked: false, recording: false, slides: null,
  meInfo: null, audioOk: isTeacher, videoOk: isTeacher, hand: false,
  quality: "auto", chosen: false, tracks: [], vp8: false,
};
const local = { mic: null, cam: null, screen: null };
let ws = null, pc = null, tx = [], attempt = 0, retryTimer = 0, ending = false, lastSeen = 0, weakRuns = 0;
let chain = Promise.resolve();
const serial = (fn) => (chain = chain.then(fn).catch((e) => console.warn("live:", e)));

// ---------- page skeleton ----------
$("#live-nojs")?.remove();
for (const x of root.querySelectorAll("[data-js]")) x.hidden = false;
const banner = $("#live-banner"), notice = $("#live-notice");
const setState = (s) => { root.dataset.state = s; };
function showBanner(text) { banner.textContent = text || ""; banner.hidden = !text; }
let noticeTimer = 0;
function say(text) {
  notice.textContent = text; notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, 8000);
}
const name = (id) => S.peers.get(id)?.name ?? "…";

// Tabs: Chat / Giơ tay / Bình chọn / Bảng / Người học.
const tabs = [...root.querySelectorAll('[role="tab"]')];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    if (on) t.removeAttribute("data-unread");
  }
  if (tab.dataset.tab === "board") sizeBoard();
}
tabs.forEach((t, i) => {
  t.addEventListener("click", () => selectTab(t));
  t.addEventListener("keydown", (e) => {
    const k = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (!k) return;
    const n = tabs[(i + k + tabs.length) % tabs.length];
    n.focus(); selectTab(n);
  });
});
function flag(tabName, count) {
  const t = tabs.find((x) => x.dataset.tab === tabName);
  if (t && t.getAttribute("aria-selected") !== "true") t.dataset.unread = count ?? "•";
}

// ---------- signalling ----------
function send(msg) {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg));
}

async function connect() {
  clearTimeout(retryTimer);
  if (ending) return;
  setState(attempt ? "reconnecting" : "connecting");
  showBanner(attempt ? T.reconnecting : T.connecting);
  let tok;
  try {
    const r = await fetch(d.tokenUrl, { credentials: "same-origin", cache: "no-store" });
    // Not allowed, not open (yet or any more), logged out: trying again would not help.
    if ([401, 403, 404, 409, 410].includes(r.status)) {
      let msg = "";
      try { msg = (await r.json()).message; } catch (_) { /* not JSON */ }
      return stop(msg || fmt(T.tokenFail, r.status));
    }
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    tok = await r.json();
  } catch (e) {
    return retry();
  }
  const u = new URL(tok.ws, location.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  const sock = new WebSocket(u);
  ws = sock;
  lastSeen = Date.now();
  sock.onmessage = (e) => {
    if (ws !== sock) return;
    lastSeen = Date.now();
    let m;
    try { m = JSON.parse(e.data); } catch (_) { return; }
    onMessage(m);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    if (ending) return;
    // 4401 bad token, 4403 refused (locked, removed), 4409 replaced by another window, 4410 over;
    // a clean close by the server (1000) ends the class too: only a broken socket is retried.
    if (e.code === 1000 || (e.code >= 4400 && e.code < 4500)) return stop(e.code === 4409 ? T.replaced : e.reason || T.refused);
    retry();
  };
}

// A new attempt after a blip: exponential backoff (1 s, 2 s, 4 s … 15 s, with jitter), a fresh
// token, a new peer connection. The old socket is abandoned rather than closed: a clean close
// would count as leaving on purpose, and the server keeps our place for the new connection.
function retry() {
  if (ending) return;
  dropConnection();
  const wait = Math.min(15000, 1000 * 2 ** attempt) * (0.75 + Math.random() / 2);
  attempt++;
  setState("reconnecting");
  showBanner(navigator.onLine === false ? T.offline : T.reconnecting);
  retryTimer = setTimeout(connect, wait);
}
function dropConnection() {
  const old = ws;
  ws = null;
  if (old) { old.onmessage = old.onclose = null; }
  if (pc) dropPc();
  chain = Promise.resolve();
  clearRemote();
}
function dropPc() {
  pc.onconnectionstatechange = pc.ontrack = null;
  pc.close();
  pc = null;
  tx = [];
}
function stop(text) {
  ending = true;
  clearTimeout(retryTimer);
  const old = ws;
  dropConnection();
  if (old && old.readyState <= 1) old.close(1000);
  for (const k of Object.keys(local)) setLocal(k, null);
  setState("ended");
  showBanner(text);
  for (const b of root.querySelectorAll(".live-bar button, .live-opts button, .live-panel button, .live-panel input")) b.disabled = true;
}
addEventListener("online", () => {
  if (ending) return;
  if (ws) { if (root.dataset.state === "connected") showBanner(""); return; }
  attempt = Math.max(attempt, 1);
  connect();
});
addEventListener("offline", () => { if (!ending) showBanner(T.offline); });
// Back from the browser's page cache after a goodbye: enter the class afresh.
addEventListener("pageshow", (e) => { if (e.persisted && ending) location.reload(); });
addEventListener("pagehide", () => {
  if (ending) return;
  ending = true;
  send({ t: "leave" });
  ws?.close(1000);
});
// Keep-alive, and a dead connection (no answer for 25 s) is replaced.
setInterval(() => {
  if (!ws || ws.readyState !== 1) return;
  if (Date.now() - lastSeen > 25000) return retry();
  send({ t: "ping" });
}, 10000);

function onMessage(m) {
  switch (m.t) {
    case "welcome": return welcome(m);
    case "answer": return serial(() => pc?.setRemoteDescription({ type: "answer", sdp: m.sdp }));
    case "offer": return serial(() => serverOffer(m.sdp));
    case "tracks": return serial(() => { S.tracks = m.tracks; renderTracks(); });
    case "peer": S.peers.set(m.peer.id, m.peer); if (m.peer.id === me) selfInfo(m.peer); renderPeople(); renderHands(); return;
    case "left": S.peers.delete(m.id); renderPeople(); return;
    case "chat": S.chat.push(m.msg); addChat(m.msg); if (m.msg.from !== me) flag("chat"); return;
    case "chat_hidden": S.chat = S.chat.filter((c) => c.id !== m.id); root.querySelector(`[data-chat-id="${m.id}"]`)?.remove(); return;
    case "hands": S.hands = m.queue; renderHands(); if (isTeacher && m.queue.length) flag("hands", m.queue.length); return;
    case "allowed": return allowed(m.audio, m.video);
    case "removed": return stop(T.removed);
    case "locked": S.locked = m.locked; renderRoomFlags(); say(m.locked ? T.locked : T.unlocked); return;
    case "poll": S.poll = m.poll; renderPoll(); flag("poll"); return;
    case "board": boardAdd(m.item); return;
    case "board_undo": S.board.pop(); drawBoard(); return;
    case "board_clear": S.board = []; drawBoard(); return;
    case "slides": S.slides = m.slides; renderSlides(); return;
    case "recording": S.recording = m.on; renderRoomFlags(); say(m.on ? T.recording : T.recordStopped); return;
    // Someone cannot decode the H.264 we send: start the media session again with VP8 first.
    case "use_vp8": if (!S.vp8) { S.vp8 = true; startMedia(); } return;
    case "error": if (m.code === "replaced") return stop(m.message || T.replaced); say(m.message); return;
    default: return; // pong and anything newer
  }
}

function welcome(m) {
  const r = m.room;
  const again = attempt > 0;
  attempt = 0;
  S.peers = new Map(r.peers.map((p) => [p.id, p]));
  S.chat = r.chat; S.hands = r.hands; S.poll = r.poll; S.board = r.board; S.pending = [];
  S.locked = r.locked; S.recording = r.recording; S.slides = r.slides || null;
  selfInfo(m.me, true);
  setState("connected");
  showBanner("");
  if (again) say(T.reconnected);
  renderPeople(); renderHands(); renderPoll(); drawBoard(); renderRoomFlags(); renderSlides();
  $("#live-chat").replaceChildren(...S.chat.map(chatItem));
  if (S.quality !== "auto") send({ t: "quality", quality: S.quality });
  startMedia();
}
// Our own peer entry; permissions come from Welcome and `allowed` only (each says it once).
function selfInfo(p, initial) {
  S.meInfo = p;
  S.hand = p.hand;
  if (initial && !isTeacher) allowed(p.audio, p.video, true);
  renderBar();
}

// ---------- media ----------
const camEncodings = isTeacher
  ? [{ rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000 },
     { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000 },
     { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1200000 }]
  : [{ maxBitrate: 250000 }];

async function startMedia() {
  if (pc) dropPc();
  pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  window.__live.pc = pc;
  const stream = new MediaStream();
  tx = [
    pc.addTransceiver(local.mic || "audio", { direction: "sendonly", streams: [stream] }),
    pc.addTransceiver(local.cam || "video", { direction: "sendonly", streams: [stream], sendEncodings: camEncodings }),
  ];
  if (isTeacher) tx.push(pc.addTransceiver(local.screen || "video", { direction: "sendonly", streams: [stream] }));
  if (S.vp8) for (const t of tx.slice(1)) preferVp8(t);
  const mine = pc;
  let downSince = 0;
  pc.onconnectionstatechange = () => {
    if (pc !== mine) return;
    const st = pc.connectionState;
    if (st === "failed") retry();
    else if (st === "disconnected") {
      downSince = Date.now();
      setTimeout(() => { if (pc === mine && pc.connectionState === "disconnected" && Date.now() - downSince >= 9000) retry(); }, 10000);
    }
  };
  pc.ontrack = () => serial(renderTracks);
  await serial(async () => {
    const offer = await mine.createOffer();
    await mine.setLocalDescription(offer);
    send({ t: "offer", sdp: mine.localDescription.sdp });
  });
  // The teacher comes in with camera and microphone on; students only when allowed and chosen.
  if (isTeacher && !local.mic && !local.cam && !S.started) { S.started = true; await turnOn("mic", "cam"); }
}
// VP8 first, the browser's order otherwise (the browser's own first choice may be H.264).
function preferVp8(t) {
  const caps = window.RTCRtpReceiver?.getCapabilities?.("video");
  if (!caps || !t.setCodecPreferences) return;
  const vp8 = (c) => (/^video\/vp8$/i.test(c.mimeType) ? 0 : 1);
  try { t.setCodecPreferences([...caps.codecs].sort((a, b) => vp8(a) - vp8(b))); } catch (e) { /* keep the default */ }
}
async function serverOffer(sdp) {
  if (!pc) return;
  await pc.setRemoteDescription({ type: "offer", sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  send({ t: "answer", sdp: pc.localDescription.sdp });
}

const constraints = {
  mic: { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } },
  cam: { video: isTeacher ? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24 } }
    : { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } } },
};
const slot = { mic: 0, cam: 1, screen: 2 };
async function turnOn(...kinds) {
  const want = kinds.filter((k) => !local[k]);
  if (!want.length) return;
  if (!navigator.mediaDevices?.getUserMedia) return say(fmt(T.mediaFail, "HTTPS"));
  try {
    const s = await navigator.mediaDevices.getUserMedia(Object.assign({}, ...want.map((k) => constraints[k])));
    if (ending) return s.getTracks().forEach((t) => t.stop());
    for (const t of s.getTracks()) setLocal(t.kind === "audio" ? "mic" : "cam", t);
  } catch (e) {
    // Both at once failed (no camera, say): each on its own still may work.
    if (want.length > 1) { for (const k of want) await turnOn(k); return; }
    say(fmt(T.mediaFail, e.name || e.message));
  }
}
// Puts a local track (or none) on its transceiver and in the preview.
function setLocal(kind, track) {
  const old = local[kind];
  if (old && old !== track) old.stop();
  local[kind] = track;
  if (track) {
    track.contentHint = kind === "screen" ? "detail" : kind === "cam" ? "motion" : "speech";
    track.addEventListener("ended", () => { if (local[kind] === track) setLocal(kind, null); });
  }
  tx[slot[kind]]?.sender.replaceTrack(track).catch((e) => console.warn("live:", e));
  if (kind !== "mic") preview(kind, track);
  renderBar();
}
async function share() {
  if (local.screen) return setLocal("screen", null);
  try {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10 } }, audio: false });
    setLocal("screen", s.getVideoTracks()[0]);
  } catch (e) {
    if (e.name !== "NotAllowedError") say(T.shareFail);
  }
}
function allowed(audio, video, quiet) {
  const was = { a: S.audioOk, v: S.videoOk };
  S.audioOk = audio; S.videoOk = video;
  if (!audio && local.mic) setLocal("mic", null);
  if (!video && local.cam) setLocal("cam", null);
  if (!quiet) {
    if (audio && !was.a) say(T.allowedAudio);
    else if (!audio && was.a) say(T.revokedAudio);
    if (video && !was.v) say(T.allowedVideo);
    else if (!video && was.v) say(T.revokedVideo);
  }
  renderBar();
}

// Tiles: the screen share biggest, else the teacher's camera, in the main area; students'
// videos (and one's own preview) as small tiles; audio through hidden <audio> elements.
const tiles = new Map(); // key → element
const mainBox = $("#live-main"), strip = $("#live-strip"), audioBox = $("#live-audio");
function tile(key, label) {
  let t = tiles.get(key);
  if (!t) {
    const v = el("video", { autoplay: true, playsInline: true, muted: true });
    t = el("figure", { className: "live-tile" }, v, el("figcaption"));
    t.dataset.key = key;
    tiles.set(key, t);
  }
  t.querySelector("figcaption").textContent = label;
  return t;
}
function preview(kind, track) {
  const key = `me:${kind}`;
  if (!track) { tiles.get(key)?.remove(); tiles.delete(key); return layout(); }
  const t = tile(key, kind === "screen" ? fmt(T.screenOf, T.you) : T.you);
  t.classList.toggle("mirror", kind === "cam");
  t.querySelector("video").srcObject = new MediaStream([track]);
  layout();
}
function renderTracks() {
  if (!pc) return;
  const byMid = new Map(pc.getTransceivers().filter((x) => x.mid != null).map((x) => [x.mid, x]));
  const keep = new Set();
  for (const ti of S.tracks) {
    const x = byMid.get(ti.mid);
    if (!x || !x.receiver.track) continue;
    const track = x.receiver.track;
    if (ti.kind === "audio") {
      const key = `a:${ti.mid}`;
      keep.add(key);
      let a = tiles.get(key);
      if (!a) { a = el("audio", { autoplay: true }); tiles.set(key, a); audioBox.append(a); }
      if (a.srcObject?.getTracks()[0] !== track) { a.srcObject = new MediaStream([track]); play(a); }
    } else {
      const key = `${ti.peer}:${ti.source}`;
      keep.add(key);
      const p = S.peers.get(ti.peer);
      const t = tile(key, ti.source === "screen" ? fmt(T.screenOf, p?.name ?? "") : p?.name ?? "");
      t.dataset.source = ti.source;
      t.dataset.mid = ti.mid;
      t.dataset.teacher = String(p?.role === "teacher");
      const v = t.querySelector("video");
      if (v.srcObject?.getTracks()[0] !== track) v.srcObject = new MediaStream([track]);
    }
  }
  for (const [k, t] of tiles) if (!k.startsWith("me:") && !keep.has(k)) { t.remove(); tiles.delete(k); }
  layout();
}
function clearRemote() {
  for (const [k, t] of tiles) if (!k.startsWith("me:")) { t.remove(); tiles.delete(k); }
  layout();
}
// A remote video whose frames stopped (camera off, screen share ended) leaves the layout.
function layout() {
  const all = [...tiles.entries()].filter(([k, t]) => !k.startsWith("a:") && t.dataset.live !== "false");
  for (const [k, t] of tiles) if (t.dataset.live === "false" && !k.startsWith("a:")) t.remove();
  const pick = all.find(([k, t]) => !k.startsWith("me:") && t.dataset.source === "screen")
    || all.find(([k, t]) => !k.startsWith("me:") && t.dataset.teacher === "true" && t.dataset.source === "camera")
    || (isTeacher && (all.find(([k]) => k === "me:screen") || all.find(([k]) => k === "me:cam")));
  const big = pick ? pick[1] : null;
  const small = all.map(([, t]) => t).filter((t) => t !== big);
  if (big && big.parentNode !== mainBox) mainBox.replaceChildren(big);
  if (!big) mainBox.replaceChildren(el("p", { className: "live-empty" }, S.quality === "audio_only" ? T.audioOnly : T.noVideo));
  for (const t of small) if (t.parentNode !== strip) strip.append(t);
  for (const t of [...strip.children]) if (!small.includes(t)) t.remove();
  strip.hidden = small.length === 0;
  for (const t of all.map(([, x]) => x)) play(t.querySelector("video"));
  root.classList.toggle("live-audio-only", S.quality === "audio_only");
}
const unmute = $("#live-unmute");
function play(m) {
  if (!m || !m.paused || !m.srcObject) return;
  m.play().catch(() => { if (m.tagName === "AUDIO") unmute.hidden = false; });
}
unmute.addEventListener("click", () => {
  unmute.hidden = true;
  for (const a of audioBox.querySelectorAll("audio")) play(a);
});

// Quality: audio only for weak networks (picked by itself when the connection is poor), a
// lower layer, or the best the network allows.
const qSel = $("#live-quality"), aoBtn = $("#live-audio-only");
function setQuality(q, chosen) {
  S.quality = q;
  if (chosen) S.chosen = true;
  qSel.value = q === "audio_only" ? qSel.value : q;
  aoBtn.setAttribute("aria-pressed", String(q === "audio_only"));
  send({ t: "quality", quality: q });
  layout();
  renderSlides();
}
qSel.addEventListener("change", () => setQuality(qSel.value, true));
aoBtn.addEventListener("click", () => setQuality(S.quality === "audio_only" ? qSel.value : "audio_only", true));
const net = navigator.connection;
if (net && (net.saveData || /2g/.test(net.effectiveType || ""))) setQuality("audio_only");
else if (net && net.effectiveType === "3g") setQuality("low");
let prevIn = null;
setInterval(async () => {
  if (!pc || S.chosen || S.quality === "audio_only" || pc.connectionState !== "connected") return;
  const st = await pc.getStats();
  let recv = 0, lost = 0, rtt = 0;
  st.forEach((r) => {
    if (r.type === "inbound-rtp") { recv += r.packetsReceived || 0; lost += r.packetsLost || 0; }
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") rtt = r.currentRoundTripTime || 0;
  });
  const p = prevIn; prevIn = { recv, lost };
  if (!p) return;
  const dr = recv - p.recv, dl = lost - p.lost;
  const bad = (dr + dl > 50 && dl / (dr + dl) > 0.12) || rtt > 1;
  weakRuns = bad ? weakRuns + 1 : 0;
  if (weakRuns >= 2) { setQuality("audio_only"); say(T.weak); }
}, 5000);

const lastFrames = new Map();
setInterval(async () => {
  if (!pc || pc.connectionState !== "connected") return;
  const frames = new Map();
  (await pc.getStats()).forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") frames.set(r.mid, r.framesDecoded || 0); });
  let changed = false;
  for (const t of tiles.values()) {
    if (!t.dataset.mid) continue;
    const now = frames.get(t.dataset.mid) ?? 0, before = lastFrames.get(t.dataset.mid) ?? -1;
    const live = String(now > before);
    if (t.dataset.live !== live) { t.dataset.live = live; changed = true; }
  }
  for (const [m, n] of frames) lastFrames.set(m, n);
  if (changed) layout();
}, 2000);

// ---------- bottom bar ----------
const btn = { mic: $("#live-mic"), cam: $("#live-cam"), share: $("#live-share"), hand: $("#live-hand"), leave: $("#live-leave") };
if (!navigator.mediaDevices?.getDisplayMedia || !isTeacher) btn.share.hidden = true;
if (!isStudent) btn.hand.hidden = true;
if (role === "observer") btn.mic.hidden = btn.cam.hidden = true;
function renderBar() {
  const setB = (b, on, ok) => {
    b.setAttribute("aria-pressed", String(on));
    b.disabled = !ok || ending;
    b.title = ok ? "" : T.waitAllow;
  };
  setB(btn.mic, !!local.mic && local.mic.enabled, S.audioOk);
  setB(btn.cam, !!local.cam, S.videoOk);
  setB(btn.share, !!local.screen, isTeacher);
  setB(btn.hand, S.hand, true);
}
btn.mic.addEventListener("click", () => {
  if (local.mic) {
    // The teacher mutes by disabling the track (instant back on); a student's mic is released.
    if (isTeacher) { local.mic.enabled = !local.mic.enabled; renderBar(); } else setLocal("mic", null);
  } else if (S.audioOk) turnOn("mic");
});
btn.cam.addEventListener("click", () => { if (local.cam) setLocal("cam", null); else if (S.videoOk) turnOn("cam"); });
btn.share.addEventListener("click", share);
btn.hand.addEventListener("click", () => { S.hand = !S.hand; renderBar(); send({ t: "hand", up: S.hand }); });
btn.leave.addEventListener("click", async () => {
  btn.leave.disabled = true;
  if (isTeacher && S.board.length) await saveBoard();
  send({ t: "leave" });
  stop(T.left);
  location.assign(d.backUrl);
});

// ---------- chat ----------
const chatList = $("#live-chat");
function chatItem(c) {
  const li = el("li", { className: c.from === me ? "mine" : "" },
    el("p", {}, el("strong", {}, c.name), " ",
      el("time", { dateTime: new Date(c.at_ms).toISOString() }, new Date(c.at_ms).toLocaleTimeString(en ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" }))),
    el("p", { className: "prewrap" }, c.text));
  li.dataset.chatId = c.id;
  if (isTeacher) li.append(el("button", { type: "button", className: "link small", "aria-label": fmt(T.hideLabel, c.name), onclick: () => send({ t: "chat_hide", id: c.id }) }, T.hide));
  return li;
}
function addChat(c) {
  const atEnd = chatList.scrollTop + chatList.clientHeight >= chatList.scrollHeight - 8;
  chatList.append(chatItem(c));
  while (chatList.children.length > 200) chatList.firstChild.remove();
  if (atEnd || c.from === me) chatList.scrollTop = chatList.scrollHeight;
}
$("#live-chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = e.target.elements.text;
  const text = input.value.trim();
  if (!text || !ws) return;
  send({ t: "chat", text });
  input.value = "";
});

// ---------- hands & people ----------
function renderHands() {
  const ol = $("#live-hands");
  ol.replaceChildren(...S.hands.map((id) => {
    const li = el("li", {}, el("span", {}, name(id)));
    li.dataset.peer = id;
    const p = S.peers.get(id);
    if (isTeacher && p) li.append(" ", el("button", { type: "button", className: "small", onclick: () => send({ t: "allow", target: id, audio: true, video: p.video }) }, T.allowSpeak));
    return li;
  }));
  $("#live-hands-empty").hidden = S.hands.length > 0;
}
function renderPeople() {
  const order = { teacher: 0, student: 1, observer: 2 };
  const ps = [...S.peers.values()].sort((a, b) => order[a.role] - order[b.role] || a.name.localeCompare(b.name, "vi"));
  $("#live-people").replaceChildren(...ps.map((p) => {
    const tags = [T[p.role]];
    if (p.id === me) tags.push(T.you);
    if (!p.online) tags.push(T.away);
    if (p.hand) tags.push(T.hand);
    if (p.role === "student" && p.audio) tags.push(T.canSpeak);
    if (p.role === "student" && p.video) tags.push(T.canVideo);
    const li = el("li", {}, el("strong", {}, p.name), " ", el("small", { className: "muted" }, tags.join(" · ")));
    li.dataset.peer = p.id;
    li.dataset.online = String(p.online);
    if (isTeacher && p.role === "student") {
      const b = (label, msg, cls = "small secondary") => el("button", { type: "button", className: cls, onclick: () => send(msg) }, label);
      li.append(el("div", { className: "live-peer-actions" },
        b(p.audio ? T.stopSpeak : T.allowSpeak, { t: "allow", target: p.id, audio: !p.audio, video: p.video }),
        b(p.video ? T.stopVideo : T.allowVideo, { t: "allow", target: p.id, audio: p.audio, video: !p.video }),
        p.audio ? b(T.mute, { t: "mute", target: p.id }) : null,
        el("button", { type: "button", className: "small danger", onclick: () => { if (confirm(fmt(T.removeAsk, p.name))) send({ t: "remove", target: p.id }); } }, T.remove)));
    }
    return li;
  }));
  $("#live-count").textContent = fmt(T.people, ps.length);
  for (const [k, t] of tiles) {
    const p = S.peers.get(k.split(":")[0]);
    if (p && t.tagName === "FIGURE") t.querySelector("figcaption").textContent = t.dataset.source === "screen" ? fmt(T.screenOf, p.name) : p.name;
  }
}
function renderRoomFlags() {
  root.classList.toggle("live-recording", S.recording);
  $("#live-rec-flag").hidden = !S.recording;
  $("#live-lock")?.setAttribute("aria-pressed", String(S.locked));
  $("#live-record")?.setAttribute("aria-pressed", String(S.recording));
}
if (isTeacher) {
  $("#live-mute-all").addEventListener("click", () => send({ t: "mute" }));
  $("#live-lock").addEventListener("click", () => send({ t: "lock", locked: !S.locked }));
  $("#live-record").addEventListener("click", () => send({ t: "record", on: !S.recording }));
}

// ---------- polls ----------
function renderPoll() {
  const box = $("#live-poll"), p = S.poll;
  if (!p) return box.replaceChildren(el("p", { className: "muted" }, T.noPoll));
  const total = p.counts.reduce((a, b) => a + b, 0) || 1;
  const canVote = p.open && !isTeacher;
  box.replaceChildren(
    el("h3", {}, p.question, p.open ? null : el("small", { className: "muted" }, ` (${T.closed})`)),
    el("ul", { className: "live-poll-options" }, ...p.options.map((o, i) => {
      const bar = el("span", { className: "live-poll-bar" });
      bar.style.width = `${Math.round((p.counts[i] * 100) / total)}%`;
      const label = canVote
        ? el("button", { type: "button", className: "secondary", "aria-pressed": String(p.mine === i), "aria-label": fmt(T.vote, o), onclick: () => send({ t: "poll_vote", poll: p.id, option: i }) }, o)
        : el("span", {}, o, p.mine === i ? " ✓" : "");
      const li = el("li", {}, label, el("span", { className: "live-poll-count" }, fmt(T.votes, p.counts[i])), el("span", { className: "live-poll-track" }, bar));
      li.dataset.option = i;
      return li;
    })),
    isTeacher && p.open ? el("button", { type: "button", className: "secondary", onclick: () => send({ t: "poll_close", poll: p.id }) }, T.closePoll) : null);
  box.dataset.open = String(p.open);
}
$("#live-poll-form")?.addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target.elements;
  const question = f.question.value.trim();
  const options = f.options.value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (!question || options.length < 2 || options.length > 6) return say(T.pollNeed);
  send({ t: "poll_open", question, options });
  e.target.reset();
});

// ---------- slides ----------
// The teacher uploads a PDF (the server renders its pages), then the room says which page
// everyone sees; audio-only mode loads the light version of each page.
// (Looked up on each call: the quality setting may render before this part of the script ran.)
function slideUrl(deck, page, small) { return `${d.slidesUrl}/${deck}/${page}${small ? "?s=1" : ""}`; }
function renderSlides() {
  const slidesBox = $("#live-slides"), slideImg = $("#live-slide"), slideCap = $("#live-slide-caption");
  slideImg.style.width = "100%";
  const sl = S.slides;
  slidesBox.hidden = !sl;
  if (!sl) { slideImg.removeAttribute("src"); return; }
  const small = S.quality === "audio_only";
  const src = slideUrl(sl.deck, sl.page, small);
  if (slideImg.getAttribute("src") !== src) slideImg.src = src;
  slideImg.alt = fmt(T.slideAlt, sl.page);
  slideCap.textContent = fmt(T.slidePage, sl.page, sl.pages);
  // The next page is fetched ahead, so turning to it is instant.
  if (sl.page < sl.pages) new Image().src = slideUrl(sl.deck, sl.page + 1, small);
  const prev = $("#live-slide-prev"), next = $("#live-slide-next");
  if (prev) prev.disabled = sl.page <= 1;
  if (next) next.disabled = sl.page >= sl.pages;
}
if (isTeacher) {
  const turn = (by) => { if (S.slides) send({ t: "slide_page", page: S.slides.page + by }); };
  $("#live-slide-prev").addEventListener("click", () => turn(-1));
  $("#live-slide-next").addEventListener("click", () => turn(1));
  $("#live-slide-stop").addEventListener("click", () => send({ t: "slides", deck: null }));
  $("#live-slides").addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "PageDown") turn(1);
    else if (e.key === "ArrowLeft" || e.key === "PageUp") turn(-1);
  });
  const file = $("#live-slides-file");
  $("#live-slides-pick").addEventListener("click", () => file.click());
  file.addEventListener("change", async () => {
    const f = file.files[0];
    file.value = "";
    if (!f) return;
    say(T.slidesUp);
    try {
      const r = await fetch(d.slidesUrl, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/pdf" }, body: f });
      let j = {};
      try { j = await r.json(); } catch (_) { /* not JSON */ }
      if (!r.ok) return say(j.message || fmt(T.slidesFail, r.status));
      send({ t: "slides", deck: j.deck, pages: j.pages });
    } catch (_) {
      say(fmt(T.slidesFail, 0));
    }
  });
}

// ---------- whiteboard ----------
// Items are in fractions of the board (4:3), widths in thousandths of its width: every screen
// and the saved PNG show the same picture.
const canvas = $("#live-canvas"), g = canvas.getContext("2d");
const tool = { name: "pen", color: "#111111" };
function sizeBoard() {
  const w = canvas.clientWidth;
  if (!w) return;
  const r = devicePixelRatio || 1;
  canvas.width = Math.round(w * r);
  canvas.height = Math.round(w * 0.75 * r);
  drawBoard();
}
new ResizeObserver(sizeBoard).observe(canvas);
function paint(ctx, W, H, items) {
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, W, H);
  for (const it of items) {
    const p = it.points.map(([x, y]) => [x * W, y * H]);
    if (!p.length) continue;
    ctx.strokeStyle = ctx.fillStyle = it.color;
    ctx.lineWidth = Math.max(1, (it.width * W) / 1000);
    ctx.lineCap = ctx.lineJoin = "round";
    const [[x0, y0], [x1, y1] = p[0]] = [p[0], p[p.length - 1]];
    ctx.beginPath();
    if (it.tool === "pen") { ctx.moveTo(x0, y0); for (const [x, y] of p) ctx.lineTo(x, y); if (p.length === 1) ctx.lineTo(x0 + 0.5, y0); ctx.stroke(); }
    else if (it.tool === "line") { ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke(); }
    else if (it.tool === "rect") { ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)); }
    else if (it.tool === "ellipse") { ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, Math.abs(x1 - x0) / 2, Math.abs(y1 - y0) / 2, 0, 0, 2 * Math.PI); ctx.stroke(); }
    else if (it.tool === "text" && it.text) { ctx.font = `${Math.max(10, (it.width * W) / 1000)}px system-ui, sans-serif`; ctx.textBaseline = "top"; ctx.fillText(it.text, x0, y0); }
  }
}
let drawing = null;
function drawBoard() {
  if (!canvas.width) return;
  paint(g, canvas.width, canvas.height, drawing ? [...S.board, ...S.pending, drawing] : [...S.board, ...S.pending]);
  $("#live-board-empty").hidden = S.board.length + S.pending.length > 0;
}
function boardAdd(item) {
  // Our own item comes back from the server: it replaces the pending copy.
  const i = S.pending.findIndex((p) => p.tool === item.tool && p.points.length === item.points.length && (p.text ?? null) === (item.text ?? null));
  if (i >= 0) S.pending.splice(i, 1);
  else if (!isTeacher) flag("board");
  S.board.push(item);
  drawBoard();
}
if (isTeacher) {
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))]
      .map((v) => Math.round(v * 10000) / 10000);
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button > 0) return;
    const p = at(e);
    if (tool.name === "text") {
      const text = $("#live-board-text").value.trim().slice(0, 200);
      if (!text) { say(T.textNeed); $("#live-board-text").focus(); return; }
      return commit({ tool: "text", color: tool.color, width: 50, points: [p], text });
    }
    canvas.setPointerCapture(e.pointerId);
    drawing = { tool: tool.name, color: tool.color, width: 4, points: [p, p] };
    if (tool.name === "pen") drawing.points = [p];
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e), pts = drawing.points;
    if (drawing.tool === "pen") {
      const [lx, ly] = pts[pts.length - 1];
      if (Math.hypot(p[0] - lx, p[1] - ly) > 0.003 && pts.length < 2000) pts.push(p);
    } else pts[1] = p;
    drawBoard();
  });
  const end = () => { if (drawing) { const it = drawing; drawing = null; commit(it); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  function commit(item) {
    S.pending.push(item);
    send({ t: "board", item });
    drawBoard();
  }
  for (const b of root.querySelectorAll("[data-tool]")) b.addEventListener("click", () => {
    tool.name = b.dataset.tool;
    for (const x of root.querySelectorAll("[data-tool]")) x.setAttribute("aria-pressed", String(x === b));
    $("#live-board-text").hidden = tool.name !== "text";
  });
  for (const b of root.querySelectorAll("[data-color]")) b.addEventListener("click", () => {
    tool.color = b.dataset.color;
    for (const x of root.querySelectorAll("[data-color]")) x.setAttribute("aria-pressed", String(x === b));
  });
  $("#live-board-undo").addEventListener("click", () => { if (S.pending.length) { S.pending.pop(); drawBoard(); } send({ t: "board_undo" }); });
  $("#live-board-clear").addEventListener("click", () => { if (confirm(T.clearAsk)) { S.pending = []; send({ t: "board_clear" }); } });
  $("#live-board-save").addEventListener("click", saveBoard);
}
// The board as a PNG (1600×1200, whatever the screen) to the session's page.
async function saveBoard() {
  const c = document.createElement("canvas");
  c.width = 1600; c.height = 1200;
  paint(c.getContext("2d"), c.width, c.height, S.board);
  const blob = await new Promise((ok) => c.toBlob(ok, "image/png"));
  try {
    const r = await fetch(d.whiteboardUrl, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "image/png" }, body: blob });
    say(r.ok ? T.saved : fmt(T.saveFail, r.status));
  } catch (e) {
    say(fmt(T.saveFail, e.message));
  }
}

// For the browser tests (and curious teachers in the console).
// `reconnect()` behaves as after a network blip: the connection is dropped without a goodbye.
window.__live = { pc: null, state: S, local, get ws() { return ws; }, reconnect: () => retry() };
renderBar();
selectTab(tabs[0]);
renderHands(); renderPoll(); layout();
connect();
}
