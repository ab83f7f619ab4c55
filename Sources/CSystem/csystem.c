#define _GNU_SOURCE
#include "csystem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// The soft RLIMIT_NOFILE the controller started with, before omni_raise_nofile_limit; -1 until
// then. Children get it back (see omni_spawn).
static long long original_nofile_soft = -1;

struct omni_exec_status {
    int step;
    int error;
    int detail;  // see omni_isolation.detail
};

// In the child: report the failed step through the close-on-exec pipe and exit.
// write(2) and _exit(2) are async-signal-safe; 127 is the shell's "command not found" status.
static void fail_with(int status_fd, int step, int detail) {
    struct omni_exec_status status = {step, errno, detail};
    ssize_t ignored = write(status_fd, &status, sizeof status);
    (void)ignored;
    _exit(127);
}

static void fail(int status_fd, int step) { fail_with(status_fd, step, 0); }

// "<id> <id> 1\n" into `buffer` (at least 40 bytes); its length. By hand: snprintf is not
// async-signal-safe, and nothing between fork and exec may allocate or lock.
static size_t identity_map(char *buffer, unsigned int id) {
    char digits[12];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + id % 10);
        id /= 10;
    } while (id > 0 && count < sizeof digits);
    size_t length = 0;
    for (int copy = 0; copy < 2; copy++) {
        for (size_t i = count; i > 0; i--) buffer[length++] = digits[i - 1];
        buffer[length++] = ' ';
    }
    buffer[length++] = '1';
    buffer[length++] = '\n';
    return length;
}

// Writes `text` to a /proc file in one write(2) (id maps must be written whole, at once).
static int write_proc_file(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t wrote = write(fd, text, length);
    int saved = errno;
    close(fd);
    if (wrote == (ssize_t)length) return 0;
    errno = wrote < 0 ? saved : EIO;
    return -1;
}

// Tests only: removes `capability` from this process's sets, as on a host that grants it not.
static int drop_capability(int capability) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    unsigned int index = CAP_TO_INDEX(capability);
    unsigned int mask = CAP_TO_MASK(capability);
    data[index].effective &= ~mask;
    data[index].permitted &= ~mask;
    data[index].inheritable &= ~mask;
    return (int)syscall(SYS_capset, &header, data);
}

// A new network namespace has lo, down: brings it up so 127.0.0.1 works inside. 0, or -1 with
// errno and `*detail` (1 socket, 2 SIOCGIFFLAGS, 3 SIOCSIFFLAGS).
static int loopback_up(int *detail) {
    int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (control < 0) {
        *detail = 1;
        return -1;
    }
    struct ifreq request;
    memset(&request, 0, sizeof request);
    memcpy(request.ifr_name, "lo", 3);
    int rc = ioctl(control, SIOCGIFFLAGS, &request);
    *detail = 2;
    if (rc == 0) {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(control, SIOCSIFFLAGS, &request);
        *detail = 3;
    }
    int saved = errno;
    close(control);
    errno = saved;
    return rc == 0 ? 0 : -1;
}

// In the child, between fork and exec (async-signal-safe syscalls only): a network namespace
// of its own with lo up, and optionally the in-namespace listener; one message to the parent
// over `pass_fd` says the mode (and carries the listener). Fails the spawn on any error: a child
// that asked for isolation never runs without it.
static void isolate(int status_fd, int pass_fd, const omni_isolation *isolation) {
    // The ids before the user namespace exists (inside it they read as the overflow id).
    unsigned int uid = (unsigned int)geteuid();
    unsigned int gid = (unsigned int)getegid();
    char mode = 1;
    if (isolation->drop_capability > 0 && drop_capability(isolation->drop_capability) != 0) {
        fail_with(status_fd, OMNI_SPAWN_UNSHARE, errno);
    }
    int step = 0;
    int detail = 0;
    // Only "not permitted" falls back; anything else (ENOMEM, ENOSPC) is reported as is.
    if (unshare(CLONE_NEWNET) != 0) {
        step = OMNI_SPAWN_UNSHARE;
        detail = errno;
    } else if (loopback_up(&detail) != 0) {
        // CAP_SYS_ADMIN without CAP_NET_ADMIN: the namespace exists, lo cannot be raised in it.
        step = OMNI_SPAWN_LOOPBACK;
    }
    if (step != 0) {
        int first = errno;
        if (first != EPERM && first != EACCES) fail_with(status_fd, step, step == OMNI_SPAWN_UNSHARE ? first : detail);
        // A user namespace of our own grants both capabilities over a network namespace that
        // the new user namespace owns (and nothing outside it).
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) fail_with(status_fd, OMNI_SPAWN_UNSHARE, first);
        mode = 2;
        char map[40];
        // setgroups must be denied before an unprivileged process may write gid_map.
        if (write_proc_file("/proc/self/setgroups", "deny", 4) != 0) fail_with(status_fd, OMNI_SPAWN_ID_MAP, 1);
        if (write_proc_file("/proc/self/uid_map", map, identity_map(map, uid)) != 0) fail_with(status_fd, OMNI_SPAWN_ID_MAP, 2);
        if (write_proc_file("/proc/self/gid_map", map, identity_map(map, gid)) != 0) fail_with(status_fd, OMNI_SPAWN_ID_MAP, 3);
        if (loopback_up(&detail) != 0) fail_with(status_fd, OMNI_SPAWN_LOOPBACK, detail);
    }
    int listener = -1;
    if (isolation->listener_port > 0) {
        // Non-blocking for the parent's event loop (the flag is the open file's, and the
        // parent's copy is the only one left after exec).
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listener < 0) fail_with(status_fd, OMNI_SPAWN_LISTENER, 1);
        struct sockaddr_in address;
        memset(&address, 0, sizeof address);
        address.sin_family = AF_INET;
        address.sin_port = htons(isolation->listener_port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) fail_with(status_fd, OMNI_SPAWN_LISTENER, 2);
        if (listen(listener, SOMAXCONN) != 0) fail_with(status_fd, OMNI_SPAWN_LISTENER, 3);
    }
    struct iovec payload = {&mode, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } rights;
    memset(&rights, 0, sizeof rights);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &payload;
    message.msg_iovlen = 1;
    if (listener >= 0) {
        message.msg_control = rights.buffer;
        message.msg_controllen = sizeof rights.buffer;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &listener, sizeof(int));
    }
    ssize_t sent;
    do {
        sent = sendmsg(pass_fd, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != 1) fail_with(status_fd, OMNI_SPAWN_PASS, 0);
    // The parent holds it now; the server itself never gets the listener.
    if (listener >= 0) close(listener);
    close(pass_fd);
}

// In an isolated child after `isolate`, before exec: no capability survives exec and none can
// be regained. Without this, the child of a root (or CAP_SYS_ADMIN) controller keeps its
// capabilities through exec and can join the host's network namespace again through
// /proc/<ppid>/ns/net (setns), which would make the isolation advice.
static void confine(int status_fd) {
    // Root gets its bounding set as capabilities at exec: empty it (EINVAL: past the kernel's
    // last capability; EPERM: no CAP_SETPCAP, then not root either, see the check below).
    for (int capability = 0; capability < 64; capability++) {
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
            fail_with(status_fd, OMNI_SPAWN_CONFINE, 1);
        }
    }
    // Ambient capabilities (a systemd AmbientCapabilities=) would pass to a non-root server.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        fail_with(status_fd, OMNI_SPAWN_CONFINE, 2);
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0) fail_with(status_fd, OMNI_SPAWN_CONFINE, 3);
    for (int index = 0; index < _LINUX_CAPABILITY_U32S_3; index++) data[index].inheritable = 0;
    if (syscall(SYS_capset, &header, data) != 0) fail_with(status_fd, OMNI_SPAWN_CONFINE, 3);
    // Set-user-id programs and file capabilities cannot give any back.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_with(status_fd, OMNI_SPAWN_CONFINE, 4);
    // Root whose bounding set could not be emptied would still get CAP_SYS_ADMIN at exec.
    if (geteuid() == 0 && prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1) {
        errno = EPERM;
        fail_with(status_fd, OMNI_SPAWN_CONFINE, 5);
    }
}

// In the parent: the child's one message (sent before exec, so queued by the time the status
// pipe reads end-of-file). 0, or -1 and errno.
static int receive_isolation(int pass_fd, omni_isolation *isolation) {
    char mode = 0;
    struct iovec payload = {&mode, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } rights;
    memset(&rights, 0, sizeof rights);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &payload;
    message.msg_iovlen = 1;
    message.msg_control = rights.buffer;
    message.msg_controllen = sizeof rights.buffer;
    ssize_t got;
    do {
        got = recvmsg(pass_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header != NULL && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
        memcpy(&isolation->listener_fd, CMSG_DATA(header), sizeof(int));
    }
    isolation->mode = mode;
    if (got != 1 || (message.msg_flags & MSG_CTRUNC) || (isolation->listener_port > 0 && isolation->listener_fd < 0)) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

// close_range(2) (Linux 5.9+); before that, close(2) one by one up to the descriptor limit.
static void close_all(unsigned int first, unsigned int last) {
    if (syscall(SYS_close_range, first, last, 0) == 0) return;
    struct rlimit limit;
    unsigned int top = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? (unsigned int)limit.rlim_cur : 65536;
    for (unsigned int fd = first; fd <= last && fd < top; fd++) close((int)fd);
}

// Closes both ends of a pair that may not have been created (-1).
static void close_pair(int pair[2]) {
    for (int end = 0; end < 2; end++) {
        if (pair[end] >= 0) close(pair[end]);
        pair[end] = -1;
    }
}

// Moves `fd` to `target` unless it is already there; a descriptor that is also needed at a
// lower slot is dup'ed first so dup2 ordering cannot clobber it.
static int place(int fd, int target) {
    if (fd == target) {
        // dup2(fd, fd) would keep FD_CLOEXEC if set; clear it explicitly.
        int flags = fcntl(fd, F_GETFD);
        return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2(fd, target) < 0 ? -1 : 0;
}

pid_t omni_spawn(const omni_spawn_request *request, int *step, int *error) {
    return omni_spawn_isolated(request, NULL, step, error);
}

pid_t omni_spawn_isolated(const omni_spawn_request *request, omni_isolation *isolation, int *step, int *error) {
    // The isolated child's one message back: its mode, and the listener (SCM_RIGHTS).
    int pass[2] = {-1, -1};
    if (isolation != NULL) {
        isolation->listener_fd = -1;
        isolation->mode = 0;
        isolation->detail = 0;
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pass) != 0) {
            *step = OMNI_SPAWN_PASS;
            *error = errno;
            return -1;
        }
    }
    int status_pipe[2];
    // O_CLOEXEC: a successful execve closes the write end, so the parent's read returns 0.
    if (pipe2(status_pipe, O_CLOEXEC) != 0) {
        *step = OMNI_SPAWN_PIPE;
        *error = errno;
        close_pair(pass);
        return -1;
    }
    // A controller started with 0, 1 or 2 closed could get the pipe there, where placing the
    // child's stdio would overwrite it: move both ends to 3 or above.
    for (int end = 0; end < 2; end++) {
        if (status_pipe[end] <= 2) {
            int moved = fcntl(status_pipe[end], F_DUPFD_CLOEXEC, 3);
            if (moved < 0) {
                *step = OMNI_SPAWN_PIPE;
                *error = errno;
                close(status_pipe[0]);
                close(status_pipe[1]);
                close_pair(pass);
                return -1;
            }
            close(status_pipe[end]);
            status_pipe[end] = moved;
        }
    }
    pid_t parent = getpid();
    // Every signal blocked across fork (as swift-subprocess does): a handler of the controller's
    // (SIGCHLD's eventfd write) must never run in the child before its dispositions are reset
    // below; the child clears the mask only after that.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid != 0) pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        *step = OMNI_SPAWN_FORK;
        *error = errno;
        close(status_pipe[0]);
        close(status_pipe[1]);
        close_pair(pass);
        return -1;
    }
    if (pid == 0) {
        int status_fd = status_pipe[1];
        close(status_pipe[0]);
        // Own process group: stop() signals the whole group, grandchildren included. With
        // new_session, own session too (pgid = sid = pid): a descendant that moves to another
        // group keeps the session, which attributes it, and a session leader cannot leave its
        // group at all.
        if (request->new_session ? setsid() < 0 : setpgid(0, 0) != 0) fail(status_fd, OMNI_SPAWN_SETPGID);
        // Die with the controller. The signal fires when the forking *thread* exits, so the
        // Swift side forks from one thread that lives as long as the controller.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(status_fd, OMNI_SPAWN_PDEATHSIG);
        // If the controller died before prctl took effect, no signal will ever come.
        if (getppid() != parent) {
            errno = ESRCH;
            fail(status_fd, OMNI_SPAWN_PARENT_GONE);
        }
        // Default dispositions (the controller ignores SIGPIPE; exec keeps "ignored")
        // and an empty mask (a blocked mask is inherited through exec: corelibs-foundation #4772).
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP) continue;
            // glibc refuses its reserved real-time signals (32, 33) with EINVAL, yet one of them
            // can arrive here ignored; the raw syscall resets those too.
            if (signal(sig, SIG_DFL) == SIG_ERR) {
                struct {
                    void *handler;
                    unsigned long flags;
                    void *restorer;
                    unsigned long mask;
                } action = {SIG_DFL, 0, NULL, 0};
                syscall(SYS_rt_sigaction, sig, &action, NULL, sizeof action.mask);
            }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (isolation != NULL) {
            close(pass[0]);
            isolate(status_fd, pass[1], isolation);
            // The support probe stops here: isolated, nothing to run.
            if (isolation->probe_only) _exit(0);
            confine(status_fd);
            // A new user namespace changes credentials; make sure the death signal survived.
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(status_fd, OMNI_SPAWN_PDEATHSIG);
            if (getppid() != parent) {
                errno = ESRCH;
                fail(status_fd, OMNI_SPAWN_PARENT_GONE);
            }
        }
        // Raise the three pipe ends above 2 first, so that placing one cannot overwrite another.
        int in = fcntl(request->stdin_fd, F_DUPFD, 3);
        int out = fcntl(request->stdout_fd, F_DUPFD, 3);
        int err = fcntl(request->stderr_fd, F_DUPFD, 3);
        if (in < 0 || out < 0 || err < 0) fail(status_fd, OMNI_SPAWN_DUP2);
        if (place(in, 0) || place(out, 1) || place(err, 2)) fail(status_fd, OMNI_SPAWN_DUP2);
        // Close everything else but the status pipe (close-on-exec, closed by execve itself),
        // so no server inherits another's pipes or the controller's sockets.
        if (status_fd > 3) close_all(3, status_fd - 1);
        close_all(status_fd + 1, ~0U);
        // The controller raised its own descriptor limit for thousands of clients; a server gets
        // the limit the controller was started with (code built on select(2) breaks past 1,024).
        if (original_nofile_soft >= 0) {
            struct rlimit limit;
            if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
                limit.rlim_cur = (rlim_t)original_nofile_soft;
                setrlimit(RLIMIT_NOFILE, &limit);
            }
        }
        if (request->cwd != NULL && chdir(request->cwd) != 0) fail(status_fd, OMNI_SPAWN_CHDIR);
        execve(request->path, request->argv, request->envp);
        fail(status_fd, OMNI_SPAWN_EXEC);
    }
    close(status_pipe[1]);
    struct omni_exec_status status = {0, 0};
    ssize_t got = -1;
    // Bounded: one child hung in execve (an executable on a stuck network file system) must not
    // hold the one spawn thread, and with it every later start.
    long long deadline = omni_monotonic_ns() + (long long)request->exec_timeout_ms * 1000000LL;
    for (;;) {
        long long left = (deadline - omni_monotonic_ns()) / 1000000LL;
        struct pollfd entry = {status_pipe[0], POLLIN, 0};
        int ready = request->exec_timeout_ms > 0 ? poll(&entry, 1, left > 0 ? (int)left : 0) : 1;
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            kill(pid, SIGKILL);
            close(status_pipe[0]);
            close_pair(pass);
            *step = OMNI_SPAWN_EXEC;
            *error = ETIMEDOUT;
            return -pid;
        }
        got = read(status_pipe[0], &status, sizeof status);
        if (got < 0 && errno == EINTR) continue;
        break;
    }
    close(status_pipe[0]);
    if (got == (ssize_t)sizeof status) {
        // The child failed before exec and has exited with 127; the caller reaps it.
        *step = status.step;
        *error = status.error;
        if (isolation != NULL) isolation->detail = status.detail;
        close_pair(pass);
        return -pid;
    }
    if (isolation != NULL) {
        close(pass[1]);
        int received = receive_isolation(pass[0], isolation);
        int saved = errno;
        close(pass[0]);
        if (received != 0) {
            // Isolated but without its listener: a server that cannot reach the proxy would
            // fail in ways nobody could explain. Fail the start instead.
            if (isolation->listener_fd >= 0) close(isolation->listener_fd);
            isolation->listener_fd = -1;
            kill(pid, SIGKILL);
            *step = OMNI_SPAWN_PASS;
            *error = saved;
            return -pid;
        }
    }
    *step = OMNI_SPAWN_OK;
    *error = 0;
    return pid;
}

int omni_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int omni_pidfd_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int omni_peek_child(pid_t pid, omni_wait_result *result) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    memset(result, 0, sizeof *result);
    int rc;
    do {
        rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        result->pid = -1;
        return -1;
    }
    result->pid = info.si_pid;
    if (info.si_pid > 0) {
        if (info.si_code == CLD_EXITED) {
            result->exited = 1;
            result->code = info.si_status;
        } else {
            result->signal = info.si_status;
        }
    }
    return 0;
}

int omni_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1); }

void omni_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

// Parses one stat line; 0 on success. The command (field 2) may contain spaces and ')', so
// fields are counted from the last ')'.
static int parse_stat(const char *text, omni_process_row *row) {
    const char *close = strrchr(text, ')');
    if (close == NULL || close[1] != ' ') return -1;
    const char *p = close + 2;
    row->state = *p;
    // Fields 4 (ppid), 5 (pgrp), 6 (session), then 22 (starttime).
    long long values[20];
    int field = 3;
    while (*p && field < 22) {
        while (*p && *p != ' ') p++;
        if (*p == ' ') p++;
        field++;
        if (field >= 4 && field <= 22) {
            char *end;
            values[field - 4] = strtoll(p, &end, 10);
            if (end == p) return -1;
        }
    }
    if (field < 22) return -1;
    row->parent = (pid_t)values[0];
    row->group = (pid_t)values[1];
    row->session = (pid_t)values[2];
    row->start_ticks = (unsigned long long)values[18];
    return 0;
}

int omni_scan_processes(omni_process_row *rows, int max) {
    DIR *dir = opendir("/proc");
    if (dir == NULL) return -1;
    int count = 0;
    struct dirent *entry;
    char path[64];
    char buffer[1024];
    while (count < max && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t got = read(fd, buffer, sizeof buffer - 1);
        close(fd);
        if (got <= 0) continue;
        buffer[got] = 0;
        omni_process_row row;
        memset(&row, 0, sizeof row);
        row.pid = (pid_t)atoi(entry->d_name);
        if (parse_stat(buffer, &row) == 0) rows[count++] = row;
    }
    closedir(dir);
    return count;
}

int omni_count_open_fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(dir);
    return count - 1;  // the directory stream's own descriptor
}

omni_wait_result omni_wait(pid_t which) {
    omni_wait_result result = {0, 0, 0, 0};
    int status = 0;
    pid_t pid;
    do {
        pid = waitpid(which, &status, WNOHANG);
    } while (pid < 0 && errno == EINTR);
    if (pid < 0) {
        result.pid = -1;
        return result;
    }
    result.pid = pid;
    if (pid > 0) {
        if (WIFEXITED(status)) {
            result.exited = 1;
            result.code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
        }
    }
    return result;
}

static int sigchld_fd = -1;

static void on_sigchld(int sig) {
    (void)sig;
    // Preserve errno: the handler interrupts arbitrary code.
    int saved = errno;
    unsigned long long one = 1;
    ssize_t ignored = write(sigchld_fd, &one, sizeof one);
    (void)ignored;
    errno = saved;
}

int omni_install_sigchld_notifier(int fd) {
    sigchld_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigchld;
    sigemptyset(&action.sa_mask);
    // SA_NOCLDSTOP: a stopped child is not an exit. SA_RESTART: other threads' slow syscalls
    // resume instead of failing with EINTR.
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    return sigaction(SIGCHLD, &action, NULL);
}

int omni_epoll_set(int epfd, int fd, unsigned int events, unsigned long long token, int modify) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
}

int omni_epoll_wait(int epfd, unsigned long long *tokens, unsigned int *events, int max, int timeout_ms) {
    struct epoll_event buffer[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, buffer, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        tokens[i] = buffer[i].data.u64;
        events[i] = buffer[i].events;
    }
    return count;
}

int omni_set_nonblocking_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
    int fdflags = fcntl(fd, F_GETFD);
    return fdflags < 0 ? -1 : fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC);
}

int omni_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t omni_peek_exited_child(void) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 0;
    return info.si_pid;
}

int omni_timerfd_create(void) {
    return timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
}

int omni_timerfd_arm_after(int fd, long long nanoseconds) {
    if (nanoseconds < 1) nanoseconds = 1;
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = (time_t)(nanoseconds / 1000000000LL);
    spec.it_value.tv_nsec = (long)(nanoseconds % 1000000000LL);
    return timerfd_settime(fd, 0, &spec, NULL);
}

void omni_name_thread(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int omni_accept(int listener, unsigned char address[16], int *family) {
    struct sockaddr_storage peer;
    socklen_t length = sizeof peer;
    // accept4 (not in Swift's Glibc module): the new socket is non-blocking and close-on-exec
    // from the start, so a fork on the spawn thread can never inherit it.
    int fd = accept4(listener, (struct sockaddr *)&peer, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -1;
    memset(address, 0, 16);
    *family = peer.ss_family;
    if (peer.ss_family == AF_INET) {
        memcpy(address, &((struct sockaddr_in *)&peer)->sin_addr, 4);
    } else if (peer.ss_family == AF_INET6) {
        memcpy(address, &((struct sockaddr_in6 *)&peer)->sin6_addr, 16);
    }
    // Small responses go out at once: Nagle would hold a pipelined answer for the peer's ACK.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

long long omni_raise_nofile_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    if (original_nofile_soft < 0) original_nofile_soft = limit.rlim_cur == RLIM_INFINITY ? 1048576 : (long long)limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = {limit.rlim_max, limit.rlim_max};
        // A hard limit of RLIM_INFINITY is refused for NOFILE (EPERM): cap at nr_open's usual max.
        if (raised.rlim_cur == RLIM_INFINITY) raised.rlim_cur = raised.rlim_max = 1048576;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? 1048576 : (long long)limit.rlim_cur;
}

long long omni_original_nofile_limit(void) { return original_nofile_soft; }

long long omni_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int omni_signal_write_end = -1;

static void omni_signal_forward(int signo) {
    int saved = errno;
    unsigned char number = (unsigned char)signo;
    // write(2) is async-signal-safe; the end is non-blocking, so a full pipe never blocks here.
    ssize_t written = write(omni_signal_write_end, &number, 1);
    (void)written;
    errno = saved;
}

int omni_signal_pipe(const int *signals, int count) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    omni_signal_write_end = fds[1];
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = omni_signal_forward;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    for (int index = 0; index < count; index++) {
        if (sigaction(signals[index], &action, NULL) != 0) return -1;
    }
    return fds[0];
}
