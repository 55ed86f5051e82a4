/*
 * netanomaly-sockdiag: the host collector's window on the kernel's sockets,
 * read from NETLINK_SOCK_DIAG in binary (what `ss` does, without formatting
 * a kilobyte of text per socket).
 *
 * It runs until stdin closes and writes one line per record to stdout:
 *
 *   on each socket the kernel destroys (the sock_diag destroy groups):
 *     D PROTO STATE LOCAL_IP LOCAL_PORT PEER_IP PEER_PORT COOKIE SENT ACKED RECEIVED
 *   for each line "p" read on stdin, one dump of the TCP and UDP sockets
 *   (all states but TIME-WAIT), then an end line:
 *     S PROTO STATE LOCAL_IP LOCAL_PORT PEER_IP PEER_PORT COOKIE SENT ACKED RECEIVED INODE UID PID FD
 *     E SOCKETS SCANNED_PIDS
 *   and, once, on a problem that does not stop it:
 *     ! MESSAGE
 *
 * PROTO is t or u; STATE is ss's name for it (ESTAB, LISTEN, UNCONN, ...);
 * a peer of port 0 is `*`; COOKIE is the socket cookie in hex as `ss` prints
 * it after `sk:`; SENT, ACKED, RECEIVED are tcp_info's bytes_sent,
 * bytes_acked, bytes_received (`-` for UDP, or a kernel without them); PID
 * and FD are the process holding the socket (`-` when none was found).
 *
 * Attribution, the costly part of `ss -p` (it reads every fd link of every
 * process on every poll), is done only for sockets not seen before: first in
 * the processes that owned the last new sockets (a program opening
 * connections keeps opening them), then, if some remain, in every process.
 * A socket no process was found for is not looked for again. Destroy events
 * are written in batches, up to 100 ms apart.
 *
 * Build: cc -O2 -o netanomaly-sockdiag sockdiag.c (Linux, any libc).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 262144
#define HOT_PIDS 32

static const char *const STATE_NAMES[] = {
    "UNKNOWN", "ESTAB",  "SYN-SENT",   "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
    "UNCONN",  "CLOSE-WAIT", "LAST-ACK", "LISTEN",   "CLOSING",    "SYN-RECV",
};

struct sock_rec {
  uint8_t family, proto, state;
  uint16_t sport, dport;
  uint8_t src[16], dst[16];
  uint64_t cookie;
  uint32_t inode, uid;
  int has_bytes;
  uint64_t sent, acked, received;
  int pid, fd;
};

/* Inode -> owner, for the sockets of the last dump (sorted by inode). */
struct owner {
  uint32_t inode;
  int pid, fd; /* pid 0: looked for, not found */
};

static struct sock_rec *recs;
static size_t nrecs;
static struct owner *known, *next_known;
static size_t nknown;
static int hot[HOT_PIDS];
static size_t nhot;
static int have_ipv6 = 1;

static void say_once(int *said, const char *msg) {
  if (*said) return;
  *said = 1;
  printf("! %s\n", msg);
  fflush(stdout);
}

static int open_diag(unsigned groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  if (groups) {
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = groups};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

/* Fills r from one inet_diag message; returns 0 when it is not a socket record. */
static int read_msg(const struct nlmsghdr *h, uint8_t proto, struct sock_rec *r) {
  if ((h->nlmsg_type != SOCK_DIAG_BY_FAMILY && h->nlmsg_type != TCPDIAG_GETSOCK) ||
      h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
    return 0;
  const struct inet_diag_msg *m = NLMSG_DATA(h);
  memset(r, 0, sizeof *r);
  r->family = m->idiag_family;
  r->proto = proto;
  r->state = m->idiag_state;
  r->sport = ntohs(m->id.idiag_sport);
  r->dport = ntohs(m->id.idiag_dport);
  memcpy(r->src, m->id.idiag_src, 16);
  memcpy(r->dst, m->id.idiag_dst, 16);
  r->cookie = ((uint64_t)m->id.idiag_cookie[1] << 32) | m->id.idiag_cookie[0];
  r->inode = m->idiag_inode;
  r->uid = m->idiag_uid;
  r->pid = 0;
  int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
  const struct rtattr *a = (const struct rtattr *)(m + 1);
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == INET_DIAG_PROTOCOL && RTA_PAYLOAD(a) >= 1) {
      r->proto = *(const uint8_t *)RTA_DATA(a);
    } else if (a->rta_type == INET_DIAG_INFO && r->proto == IPPROTO_TCP) {
      const struct tcp_info *t = RTA_DATA(a);
      size_t have = RTA_PAYLOAD(a);
      if (have >= offsetof(struct tcp_info, tcpi_bytes_received) + 8) {
        struct tcp_info ti;
        memset(&ti, 0, sizeof ti);
        memcpy(&ti, t, have < sizeof ti ? have : sizeof ti);
        r->has_bytes = 1;
        r->acked = ti.tcpi_bytes_acked;
        r->received = ti.tcpi_bytes_received;
        r->sent = have >= offsetof(struct tcp_info, tcpi_bytes_sent) + 8 ? ti.tcpi_bytes_sent
                                                                          : ti.tcpi_bytes_acked;
      }
    }
  }
  return 1;
}

static void put_ip(const struct sock_rec *r, const uint8_t *ip, uint16_t port, int peer) {
  char text[INET6_ADDRSTRLEN];
  if (peer && port == 0) {
    fputs(" * 0", stdout);
    return;
  }
  if (r->family == AF_INET) {
    inet_ntop(AF_INET, ip, text, sizeof text);
  } else {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip, mapped, 12) == 0)
      inet_ntop(AF_INET, ip + 12, text, sizeof text);
    else
      inet_ntop(AF_INET6, ip, text, sizeof text);
  }
  printf(" %s %u", text, port);
}

static void put_common(char kind, const struct sock_rec *r) {
  const char *state = r->state < sizeof STATE_NAMES / sizeof *STATE_NAMES ? STATE_NAMES[r->state] : "UNKNOWN";
  printf("%c %c %s", kind, r->proto == IPPROTO_TCP ? 't' : 'u', state);
  put_ip(r, r->src, r->sport, 0);
  put_ip(r, r->dst, r->dport, 1);
  printf(" %llx", (unsigned long long)r->cookie);
  if (r->has_bytes)
    printf(" %llu %llu %llu", (unsigned long long)r->sent, (unsigned long long)r->acked,
           (unsigned long long)r->received);
  else
    fputs(" - - -", stdout);
}

/* Reads what the destroy groups have queued, without blocking, many datagrams per call; returns how many. */
static long drain_destroys(int fd) {
  long total = 0;
  enum { BATCH = 64, SIZE = 2048 };
  static char bufs[BATCH][SIZE];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  static int said_lost;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = SIZE};
      msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (got < 0) {
      if (errno == ENOBUFS) {
        say_once(&said_lost, "socket-destroy events were lost: the receive buffer overflowed");
        continue;
      }
      break;
    }
    total += got;
    for (int i = 0; i < got; i++) {
      int len = (int)msgs[i].msg_len;
      for (struct nlmsghdr *h = (struct nlmsghdr *)bufs[i]; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        struct sock_rec r;
        if (!read_msg(h, 0, &r)) continue;
        put_common('D', &r);
        putchar('\n');
      }
    }
    if (got < BATCH) break;
  }
  fflush(stdout);
  return total;
}

/* Sends one dump request and reads its answer into recs; -1 when the kernel refused it. */
static int dump(int fd, const void *req, size_t len, uint8_t proto) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, req, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -1;
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    int left = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        errno = -e->error;
        return e->error == 0 ? 0 : -1;
      }
      if (nrecs < MAX_SOCKETS) {
        if (read_msg(h, proto, &recs[nrecs])) nrecs++;
      } else {
        static int said_many;
        say_once(&said_many, "more than 262144 sockets: a poll lists the first 262144");
      }
    }
  }
}

#define ALL_BUT_TIME_WAIT (~(1u << 6))

/* The sockets of one family and protocol (SOCK_DIAG_BY_FAMILY). */
static int dump_family(int fd, uint8_t family, uint8_t proto) {
  struct {
    struct nlmsghdr h;
    struct inet_diag_req_v2 r;
  } req = {
      .h = {.nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
            .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
      .r = {.sdiag_family = family, .sdiag_protocol = proto,
            .idiag_ext = proto == IPPROTO_TCP ? 1 << (INET_DIAG_INFO - 1) : 0,
            .idiag_states = ALL_BUT_TIME_WAIT},
  };
  return dump(fd, &req, sizeof req, proto);
}

/*
 * The TCP sockets of both families in one walk of the kernel's hash of
 * connections: the older TCPDIAG_GETSOCK request asks for any family, where
 * SOCK_DIAG_BY_FAMILY walks the whole hash once per family (on a host with
 * 262,144 buckets each walk costs milliseconds, sockets or not).
 */
static int dump_tcp_any_family(int fd) {
  struct {
    struct nlmsghdr h;
    struct inet_diag_req r;
  } req = {
      .h = {.nlmsg_len = sizeof req, .nlmsg_type = TCPDIAG_GETSOCK,
            .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 2},
      .r = {.idiag_family = AF_INET, .idiag_ext = 1 << (INET_DIAG_INFO - 1),
            .idiag_states = ALL_BUT_TIME_WAIT},
  };
  return dump(fd, &req, sizeof req, IPPROTO_TCP);
}

static int by_inode(const void *a, const void *b) {
  uint32_t x = ((const struct owner *)a)->inode, y = ((const struct owner *)b)->inode;
  return x < y ? -1 : x > y;
}

static struct owner *find(struct owner *set, size_t n, uint32_t inode) {
  struct owner key = {.inode = inode};
  return bsearch(&key, set, n, sizeof *set, by_inode);
}

/* Looks through one process's fds for the wanted sockets; returns how many it found. */
static size_t scan_pid(int pid, struct owner *want, size_t nwant) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  DIR *dir = fdopendir(dfd);
  if (!dir) {
    close(dfd);
    return 0;
  }
  size_t found = 0;
  struct dirent *e;
  char link[64];
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ssize_t n = readlinkat(dfd, e->d_name, link, sizeof link - 1);
    if (n < 9 || memcmp(link, "socket:[", 8) != 0) continue;
    link[n] = 0;
    struct owner *o = find(want, nwant, (uint32_t)strtoul(link + 8, NULL, 10));
    if (o && o->pid < 0) {
      o->pid = pid;
      o->fd = atoi(e->d_name);
      found++;
    }
  }
  closedir(dir);
  return found;
}

static void remember_hot(int pid) {
  for (size_t i = 0; i < nhot; i++)
    if (hot[i] == pid) {
      memmove(hot + 1, hot, i * sizeof *hot);
      hot[0] = pid;
      return;
    }
  if (nhot < HOT_PIDS) nhot++;
  memmove(hot + 1, hot, (nhot - 1) * sizeof *hot);
  hot[0] = pid;
}

/* Owners of the dump's sockets: known ones carried over, new ones looked for. Returns pids scanned. */
static size_t attribute(void) {
  size_t n = 0, missing = 0, scanned = 0;
  for (size_t i = 0; i < nrecs; i++) {
    if (recs[i].inode == 0) continue;
    struct owner *was = find(known, nknown, recs[i].inode);
    next_known[n] = was ? *was : (struct owner){.inode = recs[i].inode, .pid = -1};
    if (!was) missing++;
    n++;
  }
  qsort(next_known, n, sizeof *next_known, by_inode);
  /* The same inode twice (one socket in two dumps) would confuse bsearch: keep one. */
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (u == 0 || next_known[u - 1].inode != next_known[i].inode) next_known[u++] = next_known[i];
  n = u;
  if (missing > 0) {
    size_t found = 0;
    for (size_t i = 0; i < nhot && found < missing; i++, scanned++) found += scan_pid(hot[i], next_known, n);
    if (found < missing) {
      DIR *proc = opendir("/proc");
      struct dirent *e;
      while (proc && (e = readdir(proc)) != NULL && found < missing) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        found += scan_pid(atoi(e->d_name), next_known, n);
        scanned++;
      }
      if (proc) closedir(proc);
    }
    for (size_t i = 0; i < n; i++) {
      if (next_known[i].pid < 0) next_known[i].pid = 0; /* looked for: none */
    }
  }
  struct owner *t = known;
  known = next_known;
  next_known = t;
  nknown = n;
  for (size_t i = 0; i < nrecs; i++) {
    struct owner *o = recs[i].inode ? find(known, nknown, recs[i].inode) : NULL;
    recs[i].pid = o ? o->pid : 0;
    recs[i].fd = o ? o->fd : 0;
  }
  /* Newest owners first next time. */
  for (size_t i = 0; i < nrecs; i++)
    if (recs[i].pid > 0 && recs[i].state != 10 /* LISTEN */) remember_hot(recs[i].pid);
  return scanned;
}

static void poll_sockets(int fd) {
  static int said_v6, tcp_by_family;
  nrecs = 0;
  if (!tcp_by_family && dump_tcp_any_family(fd) < 0) {
    tcp_by_family = 1; /* a kernel without the older request: one walk per family */
    nrecs = 0;
  }
  if (tcp_by_family && dump_family(fd, AF_INET, IPPROTO_TCP) < 0) {
    fprintf(stderr, "sock_diag dump refused: %s\n", strerror(errno));
    exit(3);
  }
  if (dump_family(fd, AF_INET, IPPROTO_UDP) < 0) {
    fprintf(stderr, "sock_diag dump refused: %s\n", strerror(errno));
    exit(3);
  }
  if (have_ipv6 && ((tcp_by_family && dump_family(fd, AF_INET6, IPPROTO_TCP) < 0) ||
                    dump_family(fd, AF_INET6, IPPROTO_UDP) < 0)) {
    have_ipv6 = 0;
    say_once(&said_v6, "no IPv6 sock_diag: only IPv4 sockets are listed");
  }
  size_t scanned = attribute();
  for (size_t i = 0; i < nrecs; i++) {
    const struct sock_rec *r = &recs[i];
    put_common('S', r);
    printf(" %u %u", r->inode, r->uid);
    if (r->pid > 0)
      printf(" %d %d\n", r->pid, r->fd);
    else
      fputs(" - -\n", stdout);
  }
  printf("E %zu %zu\n", nrecs, scanned);
  fflush(stdout);
}

int main(void) {
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out);
  recs = calloc(MAX_SOCKETS, sizeof *recs);
  known = calloc(MAX_SOCKETS, sizeof *known);
  next_known = calloc(MAX_SOCKETS, sizeof *next_known);
  if (!recs || !known || !next_known) {
    fputs("out of memory\n", stderr);
    return 2;
  }
  int dumpfd = open_diag(0);
  if (dumpfd < 0) {
    fprintf(stderr, "no NETLINK_SOCK_DIAG socket: %s\n", strerror(errno));
    return 3;
  }
  unsigned groups = 0;
  for (int g = SKNLGRP_INET_TCP_DESTROY; g <= SKNLGRP_INET6_UDP_DESTROY; g++) groups |= 1u << (g - 1);
  int events = open_diag(groups);
  if (events < 0) {
    static int said;
    say_once(&said, "socket-destroy events unavailable: binding the sock_diag destroy groups failed");
  }
  long capacity = 256, last_pause_ms = 100; /* messages the receive buffer holds */
  if (events >= 0) {
    int size = 0;
    socklen_t len = sizeof size;
    if (getsockopt(events, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0 && size / 1024 > 16) capacity = size / 1024;
  }
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = events, .events = POLLIN}};
  char cmd[256];
  for (;;) {
    if (poll(fds, events < 0 ? 1 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (events >= 0 && (fds[1].revents & POLLIN)) {
      long got = drain_destroys(events);
      /* Destroys are not urgent (the collector holds a close 500 ms): letting them gather
         costs one wake-up of this process and of the agent per batch instead of per
         socket. Up to 100 ms, less when they come fast enough to fill a quarter of the
         receive buffer (about 1 kB a message) in that time. */
      long pause_ms = 100;
      if (got > 0 && last_pause_ms > 0) {
        long fits = capacity / 4 * last_pause_ms / got;
        if (fits < pause_ms) pause_ms = fits < 5 ? 5 : fits;
      }
      last_pause_ms = pause_ms;
      struct timespec pause = {.tv_sec = 0, .tv_nsec = pause_ms * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, cmd, sizeof cmd);
      if (n <= 0) return 0;
      for (ssize_t i = 0; i < n; i++)
        if (cmd[i] == 'p') {
          /* Destroys queued before the dump go out first, so a close is never older than a poll that follows it. */
          if (events >= 0) drain_destroys(events);
          poll_sockets(dumpfd);
        }
    }
  }
}
