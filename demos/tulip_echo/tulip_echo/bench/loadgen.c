/* The benchmark's load generator, and the C echo server that measures its ceiling.
 *
 * Built with gcc at benchmark time by tulip_echo/bench/loadgen.py; one epoll
 * loop in one thread, so that it needs far less CPU per message than any
 * Python server it drives.
 *
 *   loadgen client HOST PORT CONNS SIZE WARMUP_S DURATION_S [spin|block [SERVER_PID]]
 *       CONNS connections, each a closed loop: send one SIZE-byte message,
 *       wait for all of its echo (checking every byte), send the next one.
 *       Messages completed during DURATION_S after WARMUP_S are counted and
 *       their round-trip latencies recorded. While measuring it busy-polls
 *       (spin, the default) and reports how long it found nothing to do
 *       ("idle"): a load generator that is rarely idle is the bottleneck.
 *       With block it sleeps in epoll_wait like an ordinary client (and
 *       "idle" is then 0). With SERVER_PID it also reports the user and
 *       system CPU seconds and minor page faults that process used within
 *       the measured window (from /proc/SERVER_PID/stat, read when the
 *       window opens and when it closes), so that they match the messages
 *       counted. Prints one JSON object.
 *   loadgen hold HOST PORT CONNS SIZE TIMEOUT_S
 *       Open CONNS connections (at most 256 connects in flight), and only once
 *       all are open echo one SIZE-byte message on each, then half-close
 *       every one and wait for the server's EOF. Proves the server holds them
 *       all at once. Prints one JSON object.
 *   loadgen server PORT
 *       An epoll echo server on 127.0.0.1 (port 0 picks one); prints
 *       "serving on 127.0.0.1:PORT" and runs until SIGTERM or SIGINT.
 *
 * Exit status 0 on success; on a failure, a JSON object with "error" on
 * stdout and status 1; bad arguments, status 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_SHIFTS 251          /* messages start at different offsets of one pattern */
#define READ_CHUNK (256 * 1024)
#define HIST_BUCKETS (1u << 22)     /* latency histogram: 1 us buckets up to ~4.2 s */
#define MAX_EVENTS 512
#define MAX_CONNECTING 256

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* A process's CPU use so far, from /proc/PID/stat: user and system seconds, minor faults. */
struct proc_usage {
    double user, system;
    unsigned long long minor_faults;
};

static int read_proc_usage(long pid, struct proc_usage *usage) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
    char *fields = strrchr(text, ')');
    unsigned long long minflt, utime, stime;
    if (!fields || sscanf(fields + 1, " %*c %*d %*d %*d %*d %*d %*u %llu %*u %*u %*u %llu %llu",
                          &minflt, &utime, &stime) != 3) {
        errno = EPROTO;
        return -1;
    }
    double tick = (double)sysconf(_SC_CLK_TCK);
    usage->user = (double)utime / tick;
    usage->system = (double)stime / tick;
    usage->minor_faults = minflt;
    return 0;
}

static void fail(const char *what, int err) {
    printf("{\"error\": \"%s: %s\"}\n", what, strerror(err));
    fflush(stdout);
    exit(1);
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static struct sockaddr_in resolve(const char *host, const char *port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        if (getaddrinfo(host, NULL, &hints, &res) != 0) fail("cannot resolve host", EINVAL);
        addr.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }
    return addr;
}

static int start_connect(const struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) fail("socket", errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
        fail("connect", errno);
    return fd;
}

static unsigned char *make_pattern(size_t size) {
    unsigned char *pattern = malloc(size + PATTERN_SHIFTS);
    if (!pattern) fail("malloc", ENOMEM);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < size + PATTERN_SHIFTS; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        pattern[i] = (unsigned char)x;
    }
    return pattern;
}

/* ---------------------------------------------------------------- client */

struct conn {
    int fd;
    int connected;
    int writing;          /* EPOLLOUT armed */
    size_t sent, received;
    unsigned shift;       /* this message's offset into the pattern */
    double started;
    int eof;
};

/* A non-blocking connect reported by epoll: fail on an error, return 1 once connected. */
static int connect_finished(struct conn *c, uint32_t events) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) fail("connect", err);
    if (!(events & EPOLLOUT)) return 0;
    c->connected = 1;
    return 1;
}

static void arm(int ep, struct conn *c, int want_out) {
    if (c->writing == want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl", errno);
    c->writing = want_out;
}

static void send_some(int ep, struct conn *c, const unsigned char *pattern, size_t size) {
    while (c->sent < size) {
        ssize_t n = send(c->fd, pattern + c->shift + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            fail("send", errno);
        }
        c->sent += (size_t)n;
    }
    arm(ep, c, c->sent < size);
}

static void begin_message(int ep, struct conn *c, const unsigned char *pattern, size_t size,
                          unsigned seq) {
    c->sent = c->received = 0;
    c->shift = seq % PATTERN_SHIFTS;
    c->started = now_s();
    send_some(ep, c, pattern, size);
}

/* Read what is there; return 1 when the whole echo has arrived. */
static int receive_some(struct conn *c, unsigned char *buf, const unsigned char *pattern, size_t size) {
    for (;;) {
        size_t want = size - c->received;
        if (want == 0) return 1;
        if (want > READ_CHUNK) want = READ_CHUNK;
        ssize_t n = recv(c->fd, buf, want, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            fail("recv", errno);
        }
        if (n == 0) {
            printf("{\"error\": \"the server closed a connection after %zu of %zu bytes\"}\n",
                   c->received, size);
            exit(1);
        }
        if (memcmp(buf, pattern + c->shift + c->received, (size_t)n) != 0) {
            printf("{\"error\": \"the echo differs from the message (at bytes %zu..%zu)\"}\n",
                   c->received, c->received + (size_t)n);
            exit(1);
        }
        c->received += (size_t)n;
        if (c->received > c->sent) {
            printf("{\"error\": \"the server echoed bytes before they were sent\"}\n");
            exit(1);
        }
    }
}

static double percentile(const uint32_t *hist, uint64_t total, double q) {
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)(total - 1)) + 1, seen = 0;
    for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen >= rank) return i;
    }
    return HIST_BUCKETS - 1;
}

static int run_client(const char *host, const char *port, int nconns, size_t size,
                      double warmup, double duration, int spin, long server_pid) {
    struct sockaddr_in addr = resolve(host, port);
    unsigned char *pattern = make_pattern(size);
    unsigned char *buf = malloc(READ_CHUNK);
    uint32_t *hist = calloc(HIST_BUCKETS, sizeof *hist);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!buf || !hist || !conns) fail("malloc", ENOMEM);
    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->fd = start_connect(&addr);
        c->writing = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    unsigned seq = 0;
    uint64_t counted = 0, completed = 0;
    double latency_sum = 0, max_latency = 0, idle = 0;
    double t0 = now_s(), measure_from = 0, measure_to = 0, cpu_from = 0;
    int measuring = 0, connected = 0;
    struct proc_usage server_from = {0}, server_to = {0};
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        double t = now_s();
        if (connected == nconns && !measuring && t >= measure_from) {
            measuring = 1;
            cpu_from = cpu_s();
            if (server_pid > 0 && read_proc_usage(server_pid, &server_from) < 0)
                fail("cannot read the server's /proc/PID/stat", errno);
        }
        if (measuring && t >= measure_to) {
            if (server_pid > 0 && read_proc_usage(server_pid, &server_to) < 0)
                fail("cannot read the server's /proc/PID/stat", errno);
            break;
        }
        if (t - t0 > warmup + duration + 30) fail("timed out connecting", ETIMEDOUT);
        /* Busy-poll while measuring: a sleeping client makes every echo pay for waking it
         * up (an inter-processor interrupt, dear in a VM), which is the client's cost, not
         * the server's. Time spent finding nothing to do is counted as idle instead. */
        int n = epoll_wait(ep, events, MAX_EVENTS, spin && connected == nconns ? 0 : 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait", errno);
        }
        if (n == 0 && measuring) {
            double idle_to = now_s();
            idle += idle_to - t;
            continue;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c->connected) {
                if (!connect_finished(c, events[i].events)) continue;
                if (++connected == nconns) {
                    measure_from = now_s() + warmup;
                    measure_to = measure_from + duration;
                }
                begin_message(ep, c, pattern, size, seq++);
                continue;
            }
            if ((events[i].events & EPOLLOUT) && c->sent < size)
                send_some(ep, c, pattern, size);
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (receive_some(c, buf, pattern, size)) {
                    double done = now_s();
                    completed++;
                    if (measuring) {
                        double latency = done - c->started;
                        uint64_t us = (uint64_t)(latency * 1e6);
                        hist[us < HIST_BUCKETS ? us : HIST_BUCKETS - 1]++;
                        latency_sum += latency;
                        if (latency > max_latency) max_latency = latency;
                        counted++;
                    }
                    begin_message(ep, c, pattern, size, seq++);
                }
            }
        }
    }
    double elapsed = now_s() - measure_from, cpu = cpu_s() - cpu_from;
    printf("{\"connections\": %d, \"size\": %zu, \"messages\": %llu, \"elapsed\": %.6f, "
           "\"completed_total\": %llu, \"mean_us\": %.1f, \"p50_us\": %.0f, \"p99_us\": %.0f, "
           "\"max_us\": %.0f, \"cpu\": %.6f, \"idle\": %.6f",
           nconns, size, (unsigned long long)counted, elapsed, (unsigned long long)completed,
           counted ? latency_sum / counted * 1e6 : 0.0, percentile(hist, counted, 0.50),
           percentile(hist, counted, 0.99), max_latency * 1e6, cpu, idle);
    if (server_pid > 0)
        printf(", \"server_user\": %.3f, \"server_system\": %.3f, \"server_minor_faults\": %llu",
               server_to.user - server_from.user, server_to.system - server_from.system,
               server_to.minor_faults - server_from.minor_faults);
    printf("}\n");
    for (int i = 0; i < nconns; i++) close(conns[i].fd);
    return 0;
}

/* ------------------------------------------------------------------ hold */

static int run_hold(const char *host, const char *port, int nconns, size_t size, double timeout) {
    struct sockaddr_in addr = resolve(host, port);
    unsigned char *pattern = make_pattern(size);
    unsigned char *buf = malloc(READ_CHUNK);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!buf || !conns) fail("malloc", ENOMEM);
    int ep = epoll_create1(0);
    int opened = 0, connecting = 0, connected = 0, echoed = 0, closed = 0;
    double t0 = now_s(), t_connected = 0, t_echoed = 0;
    struct epoll_event events[MAX_EVENTS];
    while (closed < nconns) {
        while (opened < nconns && connecting < MAX_CONNECTING) {
            struct conn *c = &conns[opened++];
            c->fd = start_connect(&addr);
            c->writing = 1;
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl", errno);
            connecting++;
        }
        if (now_s() - t0 > timeout) {
            printf("{\"error\": \"timed out after %.0f s: %d of %d connected, %d echoed, %d closed\"}\n",
                   timeout, connected, nconns, echoed, closed);
            exit(1);
        }
        int n = epoll_wait(ep, events, MAX_EVENTS, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait", errno);
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c->connected) {
                if (!connect_finished(c, events[i].events)) continue;
                connecting--;
                /* Park it: nothing is sent until every connection is open. */
                struct epoll_event ev = {.events = 0, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                c->writing = 0;
                if (++connected == nconns) {
                    t_connected = now_s();
                    for (int j = 0; j < nconns; j++) {
                        struct epoll_event in = {.events = EPOLLIN, .data.ptr = &conns[j]};
                        epoll_ctl(ep, EPOLL_CTL_MOD, conns[j].fd, &in);
                        begin_message(ep, &conns[j], pattern, size, (unsigned)j);
                    }
                }
                continue;
            }
            if ((events[i].events & EPOLLOUT) && c->sent < size) send_some(ep, c, pattern, size);
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            if (c->received < size) {
                if (!receive_some(c, buf, pattern, size)) continue;
                if (++echoed == nconns) {
                    t_echoed = now_s();
                    for (int j = 0; j < nconns; j++) shutdown(conns[j].fd, SHUT_WR);
                }
                continue;
            }
            /* After the echo, only the server's EOF may come. */
            ssize_t got = recv(c->fd, buf, READ_CHUNK, 0);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (got < 0) fail("recv after half-close", errno);
            if (got > 0) fail("unexpected bytes after the echo", EPROTO);
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->eof = 1;
            closed++;
        }
    }
    double t_end = now_s();
    printf("{\"connections\": %d, \"size\": %zu, \"connect_s\": %.3f, \"echo_s\": %.3f, "
           "\"close_s\": %.3f, \"total_s\": %.3f}\n",
           nconns, size, t_connected - t0, t_echoed - t_connected, t_end - t_echoed, t_end - t0);
    return 0;
}

/* ---------------------------------------------------------------- server */

struct peer {
    int fd;
    size_t pending, offset;     /* unsent echo in buf[offset..offset+pending) */
    size_t last_read;
    uint32_t events;
    unsigned char buf[READ_CHUNK];
};

static volatile sig_atomic_t stopping = 0;
static void on_stop(int sig) { (void)sig; stopping = 1; }

static int run_server(const char *port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("bind", errno);
    if (listen(lfd, 4096) < 0) fail("listen", errno);
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("serving on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[MAX_EVENTS];
    while (!stopping) {
        int n = epoll_wait(ep, events, MAX_EVENTS, 200);
        for (int i = 0; i < n; i++) {
            struct peer *p = events[i].data.ptr;
            if (p == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct peer *np = malloc(sizeof *np);
                    np->fd = fd;
                    np->pending = np->offset = np->last_read = 0;
                    np->events = EPOLLIN;
                    struct epoll_event pev = {.events = EPOLLIN, .data.ptr = np};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &pev);
                }
                continue;
            }
            int gone = 0;
            for (;;) {
                if (p->pending) {
                    ssize_t w = send(p->fd, p->buf + p->offset, p->pending, MSG_NOSIGNAL);
                    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    if (w < 0) { gone = 1; break; }
                    p->offset += (size_t)w;
                    p->pending -= (size_t)w;
                    if (p->pending) break;          /* the socket is full: wait for EPOLLOUT */
                    if (p->last_read < READ_CHUNK) break;  /* drained the socket last time */
                }
                ssize_t r = recv(p->fd, p->buf, READ_CHUNK, 0);
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                if (r <= 0) { gone = 1; break; }
                p->pending = p->last_read = (size_t)r;
                p->offset = 0;
            }
            if (gone) {
                close(p->fd);
                free(p);
                continue;
            }
            /* Backpressure: while an echo is unsent, wait to write instead of reading more. */
            uint32_t want = p->pending ? EPOLLOUT : EPOLLIN;
            if (want != p->events) {
                struct epoll_event pev = {.events = want, .data.ptr = p};
                epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &pev);
                p->events = want;
            }
        }
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen client HOST PORT CONNS SIZE WARMUP_S DURATION_S [spin|block [SERVER_PID]]\n"
            "       loadgen hold HOST PORT CONNS SIZE TIMEOUT_S\n"
            "       loadgen server PORT\n");
    exit(2);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (argc >= 8 && argc <= 10 && strcmp(argv[1], "client") == 0) {
        int conns = atoi(argv[4]);
        long size = atol(argv[5]);
        int spin = argc == 8 || strcmp(argv[8], "spin") == 0;
        long server_pid = argc == 10 ? atol(argv[9]) : 0;
        if (conns < 1 || size < 1 || (argc >= 9 && !spin && strcmp(argv[8], "block") != 0)
            || (argc == 10 && server_pid < 1))
            usage();
        return run_client(argv[2], argv[3], conns, (size_t)size, atof(argv[6]), atof(argv[7]), spin,
                          server_pid);
    }
    if (argc == 7 && strcmp(argv[1], "hold") == 0) {
        int conns = atoi(argv[4]);
        long size = atol(argv[5]);
        if (conns < 1 || size < 1) usage();
        return run_hold(argv[2], argv[3], conns, (size_t)size, atof(argv[6]));
    }
    if (argc == 3 && strcmp(argv[1], "server") == 0) return run_server(argv[2]);
    usage();
    return 2;
}
