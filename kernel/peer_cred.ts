/**
 * Who is at the other end of the connections this process has accepted on a unix socket
 * (SO_PEERCRED). Deno does not expose the fd of a Deno.UnixConn, so the connections are found
 * among this process's fds: sockets named like the listener (getsockname gives an accepted
 * socket the listener's bound name) that do not listen themselves (SO_ACCEPTCONN 0).
 */
import { sysSocketListening, sysSocketName, sysSocketPeer } from "./libc.ts";

export interface PeerCred {
  fd: number;
  pid: number;
  uid: number;
  gid: number;
}

/** Open fds of this process that are sockets. */
function socketFds(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(e.name);
    if (!Number.isInteger(fd)) continue;
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith("socket:")) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * The peers of every accepted connection on the unix socket bound at `boundPath` (the path
 * given to bind(), even if the socket file was renamed since). Each call is a few short
 * syscalls that never block.
 */
export function acceptedPeers(boundPath: string): PeerCred[] {
  const out: PeerCred[] = [];
  for (const fd of socketFds()) {
    try {
      if (sysSocketName(fd) !== boundPath || sysSocketListening(fd)) continue;
      out.push({ fd, ...sysSocketPeer(fd) });
    } catch {
      // not a unix socket, or closed meanwhile
    }
  }
  return out;
}
