//! The socket loop: one tokio task owns the UDP socket and the ICE-TCP listener, feeds the
//! [`Core`] with datagrams, commands and the time, and sends what it produces. It sleeps
//! until the next packet, command or str0m timeout, so an idle server costs nothing.
//!
//! System calls are batched (quinn-udp): datagrams are read several at a time (`recvmmsg`,
//! and GRO where the kernel coalesces a peer's datagrams), and consecutive datagrams to the
//! same peer (the packets of a video frame) leave as one GSO send.

use crate::room::Now;
use crate::server::{Cmd, Core};
use quinn_udp::{RecvMeta, UdpSockRef, UdpSocketState};
use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use str0m::net::{Protocol, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Datagrams read in one go before the peers are polled.
const BATCH: usize = 64;
/// Receive buffers per `recvmmsg`.
const RECV_BUFFERS: usize = 8;
/// Size of one receive buffer: room for a GRO batch (the kernel coalesces up to 64 KiB).
const RECV_BUFFER: usize = 65_536;
/// Bytes of one GSO send at most (the limit of a UDP datagram).
const MAX_GSO_BYTES: usize = 65_000;
/// Open ICE-TCP connections at most (each is a task pair and a buffer).
const MAX_TCP: usize = 4096;
/// Frames queued per ICE-TCP connection before we drop (TCP behind on a bad network).
const TCP_QUEUE: usize = 512;
/// How late str0m timers may run: peers whose timers fall within this window are served by
/// one wake-up instead of one each (pacing and RTCP do not need sub-millisecond timing).
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// The addresses to announce: the configured ones; else the bound address; else (bound to
/// an unspecified address) the machine's outward address and loopback.
pub fn announce(configured: &[IpAddr], bound: SocketAddr) -> Vec<IpAddr> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    if !bound.ip().is_unspecified() {
        return vec![bound.ip()];
    }
    let mut ips = Vec::new();
    // Connecting a UDP socket sends nothing; it only asks the kernel for a route.
    let outward = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| {
            s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))
                .and(s.local_addr())
        })
        .map(|a| a.ip());
    if let Ok(ip) = outward
        && !ip.is_loopback()
        && !ip.is_unspecified()
    {
        ips.push(ip);
    }
    ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    ips
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_link_local() || v.is_loopback(),
        IpAddr::V6(v) => v.is_loopback() || (v.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Which of our announced addresses a datagram from `source` was sent to. The socket may
/// be bound to an unspecified address (or sit behind a 1:1 NAT), so we infer it: loopback for
/// loopback, else an address of the same family, a private one for private senders.
pub fn local_for(source: SocketAddr, port: u16, announced: &[IpAddr]) -> SocketAddr {
    let src = source.ip().to_canonical();
    let same: Vec<IpAddr> = announced
        .iter()
        .copied()
        .filter(|a| a.is_ipv4() == src.is_ipv4())
        .collect();
    let pick = if src.is_loopback() {
        same.iter().find(|a| a.is_loopback())
    } else {
        let outward: Vec<&IpAddr> = same.iter().filter(|a| !a.is_loopback()).collect();
        outward
            .iter()
            .find(|a| is_private(***a) == is_private(src))
            .or(outward.first())
            .copied()
    };
    let ip = pick
        .or(same.first())
        .or(announced.first())
        .copied()
        .unwrap_or(src);
    SocketAddr::new(ip, port)
}

enum TcpIn {
    Frame(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

/// Runs the media loop until every [`Live`](crate::Live) handle is gone.
pub async fn run(
    mut core: Core,
    udp: UdpSocket,
    tcp: Option<TcpListener>,
    announced: Vec<IpAddr>,
    mut cmds: mpsc::Receiver<Cmd>,
) {
    let udp_port = udp.local_addr().map(|a| a.port()).unwrap_or(0);
    let tcp_port = tcp
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port());
    let (tcp_tx, mut tcp_rx) = mpsc::channel::<TcpIn>(4096);
    let mut writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let state = match UdpSocketState::new(UdpSockRef::from(&udp)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("live: cannot set up the UDP socket: {e}");
            return;
        }
    };
    let mut bufs = vec![vec![0u8; RECV_BUFFER]; RECV_BUFFERS];
    let mut meta = vec![RecvMeta::default(); RECV_BUFFERS];
    let mut gso = Vec::with_capacity(MAX_GSO_BYTES);
    loop {
        let wake = core.next_timeout(Instant::now()) + TIMER_SLACK;
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(cmd) => core.command(Now::system(), cmd),
                None => break,
            },
            ready = udp.readable() => {
                if let Err(e) = ready {
                    tracing::debug!("live: udp readiness: {e}");
                    continue;
                }
                let now = Instant::now();
                let mut read = 0;
                while read < BATCH {
                    let mut slices: Vec<IoSliceMut<'_>> =
                        bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
                    let got = udp.try_io(Interest::READABLE, || {
                        state.recv(UdpSockRef::from(&udp), &mut slices, &mut meta)
                    });
                    drop(slices);
                    match got {
                        Ok(n) => {
                            for (m, buf) in meta.iter().zip(&bufs).take(n) {
                                let dest = local_for(m.addr, udp_port, &announced);
                                // A GRO batch: datagrams of one peer, `stride` bytes apart.
                                for d in buf[..m.len].chunks(m.stride.max(1)) {
                                    core.receive(now, Protocol::Udp, m.addr, dest, d);
                                    read += 1;
                                }
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // ICMP errors (a peer went away) surface here on some systems.
                        Err(e) => {
                            tracing::debug!("live: udp receive: {e}");
                            break;
                        }
                    }
                }
                core.flush(Instant::now());
            }
            accepted = accept(tcp.as_ref()) => {
                match accepted {
                    Ok((stream, remote)) if writers.len() < MAX_TCP => {
                        let _ = stream.set_nodelay(true);
                        let (tx, rx) = mpsc::channel(TCP_QUEUE);
                        writers.insert(remote, tx);
                        tokio::spawn(tcp_conn(stream, remote, tcp_tx.clone(), rx));
                    }
                    Ok(_) => tracing::warn!("live: too many ICE-TCP connections, refusing one"),
                    Err(e) => tracing::debug!("live: tcp accept: {e}"),
                }
            }
            Some(input) = tcp_rx.recv() => match input {
                TcpIn::Frame(remote, frame) => {
                    let dest = local_for(remote, tcp_port, &announced);
                    let now = Instant::now();
                    core.receive(now, Protocol::Tcp, remote, dest, &frame);
                    core.flush(now);
                }
                TcpIn::Closed(remote) => {
                    writers.remove(&remote);
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => core.timeout(Now::system()),
        }
        let mut transmits = std::mem::take(&mut core.transmits);
        core.sent(transmits.len());
        send_all(&udp, &state, &mut gso, &writers, &mut transmits);
        core.transmits = transmits;
    }
}

/// Sends (and clears) `transmits`: UDP ones in GSO batches, TCP ones to their connection.
fn send_all(
    udp: &UdpSocket,
    state: &UdpSocketState,
    gso: &mut Vec<u8>,
    writers: &HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    transmits: &mut Vec<Transmit>,
) {
    let max_segments = state.max_gso_segments().max(1);
    // The batch being gathered: destination, segment size, segments.
    let mut batch: Option<(SocketAddr, usize, usize)> = None;
    for t in transmits.drain(..) {
        if t.proto != Protocol::Udp {
            if let Some(w) = writers.get(&t.destination) {
                let _ = w.try_send(t.contents.into());
            }
            continue;
        }
        let len = t.contents.len();
        // GSO splits a send into equal segments; only the last may be shorter.
        let joins = batch.is_some_and(|(dest, size, n)| {
            dest == t.destination
                && n < max_segments
                && gso.len() == size * n
                && len <= size
                && gso.len() + len <= MAX_GSO_BYTES
        });
        if joins {
            if let Some((_, _, n)) = batch.as_mut() {
                *n += 1;
            }
        } else {
            if let Some((dest, size, n)) = batch {
                send_batch(udp, state, dest, gso, size, n);
            }
            gso.clear();
            batch = Some((t.destination, len, 1));
        }
        gso.extend_from_slice(&t.contents);
    }
    if let Some((dest, size, n)) = batch {
        send_batch(udp, state, dest, gso, size, n);
    }
    gso.clear();
}

/// One send of `n` datagrams of `size` bytes (the last may be shorter) to `dest`. A full socket
/// buffer drops them, as the network would; a network device that refuses GSO gets them one by one.
fn send_batch(
    udp: &UdpSocket,
    state: &UdpSocketState,
    dest: SocketAddr,
    data: &[u8],
    size: usize,
    n: usize,
) {
    let transmit = |contents, segment_size| quinn_udp::Transmit {
        destination: dest,
        ecn: None,
        contents,
        segment_size,
        src_ip: None,
    };
    let segment_size = (n > 1).then_some(size);
    match state.try_send(UdpSockRef::from(udp), &transmit(data, segment_size)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) if n > 1 => {
            tracing::debug!(
                "live: udp send of {n} segments to {dest}: {e}; sending them one by one"
            );
            for d in data.chunks(size) {
                if let Err(e) = state.try_send(UdpSockRef::from(udp), &transmit(d, None))
                    && e.kind() != io::ErrorKind::WouldBlock
                {
                    tracing::debug!("live: udp send to {dest}: {e}");
                }
            }
        }
        Err(e) => tracing::debug!("live: udp send to {dest}: {e}"),
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// One ICE-TCP connection: RFC 4571 frames (a 2-byte big-endian length, then the packet).
async fn tcp_conn(
    stream: TcpStream,
    remote: SocketAddr,
    to_core: mpsc::Sender<TcpIn>,
    mut from_core: mpsc::Receiver<Vec<u8>>,
) {
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        while let Some(packet) = from_core.recv().await {
            let Ok(len) = u16::try_from(packet.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(packet.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&packet);
            if write.write_all(&framed).await.is_err() {
                break;
            }
        }
    });
    let mut len = [0u8; 2];
    loop {
        if read.read_exact(&mut len).await.is_err() {
            break;
        }
        let n = usize::from(u16::from_be_bytes(len));
        let mut frame = vec![0u8; n];
        if read.read_exact(&mut frame).await.is_err() {
            break;
        }
        if n > 0 && to_core.send(TcpIn::Frame(remote, frame)).await.is_err() {
            break;
        }
    }
    writer.abort();
    let _ = to_core.send(TcpIn::Closed(remote)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_is_inferred_from_the_sender() {
        let ips: Vec<IpAddr> = ["203.0.113.5", "10.0.0.2", "127.0.0.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let from = |s: &str| local_for(s.parse().unwrap(), 3478, &ips);
        assert_eq!(from("127.0.0.1:5000"), "127.0.0.1:3478".parse().unwrap());
        assert_eq!(from("10.0.0.9:5000"), "10.0.0.2:3478".parse().unwrap());
        assert_eq!(
            from("198.51.100.7:5000"),
            "203.0.113.5:3478".parse().unwrap()
        );
        let only_public: Vec<IpAddr> = vec!["203.0.113.5".parse().unwrap()];
        assert_eq!(
            local_for("10.0.0.9:1".parse().unwrap(), 1, &only_public),
            "203.0.113.5:1".parse().unwrap()
        );
    }

    #[test]
    fn announce_prefers_configuration_then_the_bound_address() {
        let configured: Vec<IpAddr> = vec!["203.0.113.5".parse().unwrap()];
        assert_eq!(
            announce(&configured, "0.0.0.0:3478".parse().unwrap()),
            configured
        );
        assert_eq!(
            announce(&[], "127.0.0.1:0".parse().unwrap()),
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
        assert!(
            announce(&[], "0.0.0.0:0".parse().unwrap()).contains(&IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
    }
}
