// CSystem: the few syscalls Swift cannot make safely (fork/exec) or at all (prctl, pidfd_open,
// close_range). Everything between fork and exec happens here, in C: after fork in a
// multi-threaded process only async-signal-safe calls are allowed, and Swift's runtime
// (allocation, locks, reference counting) is not async-signal-safe.
#ifndef OMNI_CSYSTEM_H
#define OMNI_CSYSTEM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sys/types.h>

/// Which step of starting a child failed; reported with its errno through the exec pipe.
typedef enum {
    OMNI_SPAWN_OK = 0,
    OMNI_SPAWN_PIPE = 1,      // creating the exec-status pipe
    OMNI_SPAWN_FORK = 2,      // fork(2)
    OMNI_SPAWN_SETPGID = 3,   // own process group (setpgid), or own session (setsid)
    OMNI_SPAWN_PDEATHSIG = 4, // prctl(PR_SET_PDEATHSIG)
    OMNI_SPAWN_PARENT_GONE = 5, // the controller died between fork and prctl
    OMNI_SPAWN_DUP2 = 6,      // wiring stdin/stdout/stderr
    OMNI_SPAWN_CHDIR = 7,     // the manifest's cwd
    OMNI_SPAWN_EXEC = 8,      // execve(2): missing executable, permissions, bad format
    OMNI_SPAWN_UNSHARE = 9,   // isolation: unshare(CLONE_NEWNET) and the user-namespace fallback
    OMNI_SPAWN_ID_MAP = 10,   // isolation: writing /proc/self/setgroups, uid_map or gid_map
    OMNI_SPAWN_LOOPBACK = 11, // isolation: bringing lo up in the new namespace
    OMNI_SPAWN_LISTENER = 12, // isolation: socket, bind or listen of the in-namespace listener
    OMNI_SPAWN_PASS = 13,     // isolation: handing the listener to the parent (socketpair, SCM_RIGHTS)
    OMNI_SPAWN_CONFINE = 14,  // isolation: dropping every capability and setting no_new_privs
} omni_spawn_step;

/// What to start. All pointers are owned by the caller and only read.
typedef struct {
    const char *path;         // executable, already resolved (no PATH search here)
    char *const *argv;        // NULL-terminated
    char *const *envp;        // NULL-terminated; exactly the child's environment
    const char *cwd;          // NULL: inherit
    int stdin_fd;             // child ends of the pipes, become 0, 1, 2
    int stdout_fd;
    int stderr_fd;
    int exec_timeout_ms;      // > 0: a child not past execve by then is killed (ETIMEDOUT)
    int new_session;          // 1: setsid (own session and group); 0: setpgid (own group)
} omni_spawn_request;

/// Forks and execs `request`. Returns the child's pid on success. On failure `*step` and
/// `*error` (an errno) say what failed, and the result is -1 when no child was created, or
/// -pid when the child was created but failed before exec (it has exited or was killed at the
/// exec deadline; reap it). The child runs in its own process group (and session, with
/// `new_session`), with an empty signal mask, default dispositions, PR_SET_PDEATHSIG(SIGKILL), and no descriptor but 0-2.
/// Every signal is blocked in the calling thread across fork.
pid_t omni_spawn(const omni_spawn_request *request, int *step, int *error);

/// How a child is isolated, and what came back. Only for `omni_spawn_isolated`.
typedef struct {
    // In.
    unsigned short listener_port; // > 0: listen on 127.0.0.1:<port> inside and pass it back
    int probe_only;               // 1: _exit(0) once isolated (before stdio wiring and exec),
                                  //    the mode (1 or 2) sent back as usual: the support probe
    int drop_capability;          // tests: > 0: drop this capability first (CAP_SYS_ADMIN 21,
                                  //    CAP_NET_ADMIN 12), as a host that grants it not would
    // Out.
    int listener_fd;              // the in-namespace listener (non-blocking, close-on-exec), or -1
    int mode;                     // 1: network namespace; 2: user + network namespace; 0: none
    int detail;                   // OMNI_SPAWN_UNSHARE: errno of the plain unshare(CLONE_NEWNET);
                                  // OMNI_SPAWN_ID_MAP: 1 setgroups, 2 uid_map, 3 gid_map;
                                  // OMNI_SPAWN_LISTENER: 1 socket, 2 bind, 3 listen;
                                  // OMNI_SPAWN_CONFINE: 1 bounding set, 2 ambient set,
                                  // 3 inheritable set, 4 no_new_privs, 5 a capability survived
} omni_isolation;

/// `omni_spawn` with the child in a network namespace of its own where only `lo` is up (NULL
/// `isolation`: exactly `omni_spawn`). In the child, after setsid and before the stdio wiring:
/// unshare(CLONE_NEWNET) and lo up (SIOCSIFFLAGS); if either is refused with EPERM or EACCES
/// (no CAP_SYS_ADMIN, or no CAP_NET_ADMIN), unshare(CLONE_NEWUSER | CLONE_NEWNET) with setgroups
/// denied and the current uid and gid mapped to themselves, and lo up in that namespace; with `listener_port`, a TCP listener on
/// 127.0.0.1:<port> inside, sent to the parent over a socketpair (SCM_RIGHTS) and closed in the
/// child before exec. Every failure is reported as its step, errno and `detail`; the child never
/// execs without the namespace. On success `isolation->listener_fd` is the caller's to close.
pid_t omni_spawn_isolated(const omni_spawn_request *request, omni_isolation *isolation, int *step, int *error);

/// pidfd_open(2) (Linux 5.3+): a descriptor that becomes readable when `pid` exits.
int omni_pidfd_open(pid_t pid);

/// pidfd_send_signal(2): signals exactly the process `pidfd` refers to, never a reused pid.
int omni_pidfd_signal(int pidfd, int sig);

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to this process.
int omni_set_child_subreaper(void);

/// Ignores SIGPIPE in this process: a child closing its stdin must be an EPIPE, not a death.
void omni_ignore_sigpipe(void);

/// One process as /proc/<pid>/stat shows it.
typedef struct {
    pid_t pid;
    pid_t parent;
    pid_t group;
    pid_t session;
    unsigned long long start_ticks;  // field 22: clock ticks after boot
    char state;                      // field 3: R, S, D, Z, ...
} omni_process_row;

/// Reads every /proc/<pid>/stat into `rows` (at most `max`); returns how many, or -1. In C: a
/// pass runs during every stop and on reaping passes, and must stay cheap.
int omni_scan_processes(omni_process_row *rows, int max);

/// Number of open descriptors of this process (counts /proc/self/fd), or -1.
int omni_count_open_fds(void);

/// How a reaped child ended.
typedef struct {
    pid_t pid;     // 0: nothing (more) to reap; -1: no children at all (ECHILD)
    int exited;    // 1: exited with `code`; 0: killed by `signal`
    int code;
    int signal;
} omni_wait_result;

/// waitpid(which, WNOHANG) with the status decoded (WIFEXITED and friends are macros Swift cannot
/// import). `which` = -pgid reaps any child in that process group, including orphaned
/// grandchildren re-parented to this subreaper, and never another component's children.
omni_wait_result omni_wait(pid_t which);

/// waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT): whether the child `pid` has exited, and
/// how, *without* reaping it (it stays a zombie, so its pid and process group id cannot be
/// reused). `result->pid` is 0 while it runs; -1 (and errno) when it is no child of ours.
int omni_peek_child(pid_t pid, omni_wait_result *result);

/// The pid of a child that has exited and is waiting to be reaped, without reaping it
/// (waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)); 0 when there is none.
pid_t omni_peek_exited_child(void);

/// Installs a SIGCHLD handler that writes to the eventfd `fd` (write(2) is async-signal-safe),
/// with SA_RESTART | SA_NOCLDSTOP, so an epoll loop can wait for child exits without polling.
int omni_install_sigchld_notifier(int fd);

/// epoll_ctl(ADD or MOD) with a 64-bit token; `struct epoll_event` is packed on x86_64, which Swift
/// imports poorly, so the struct never crosses into Swift.
int omni_epoll_set(int epfd, int fd, unsigned int events, unsigned long long token, int modify);

/// epoll_wait into parallel arrays of tokens and event masks. Returns the count, or -1 (errno).
int omni_epoll_wait(int epfd, unsigned long long *tokens, unsigned int *events, int max, int timeout_ms);

/// timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC): the same clock as Swift's
/// `ContinuousClock`, so deadlines computed in Swift and armed here agree.
int omni_timerfd_create(void);

/// Arms `fd` to fire once, `nanoseconds` from now (at least 1 ns: 0 would disarm it).
int omni_timerfd_arm_after(int fd, long long nanoseconds);

/// Names the calling thread (prctl(PR_SET_NAME), at most 15 bytes) for `top -H` and /proc.
/// Foundation's `Thread.name` does not reach the kernel on Linux.
void omni_name_thread(const char *name);

/// Sets O_NONBLOCK and FD_CLOEXEC on `fd`.
int omni_set_nonblocking_cloexec(int fd);

/// pipe2(O_CLOEXEC): both ends close-on-exec, so no other child inherits them.
int omni_pipe_cloexec(int fds[2]);

/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) with TCP_NODELAY set; the peer's address goes to
/// `address` (4 bytes for AF_INET, 16 for AF_INET6) and its family to `*family`. -1 and errno
/// as accept(2).
int omni_accept(int listener, unsigned char address[16], int *family);

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now in force
/// (or -1). Thousands of client connections need more than the usual 1,024 descriptors.
long long omni_raise_nofile_limit(void);

/// The soft RLIMIT_NOFILE before the first omni_raise_nofile_limit (what children get), or -1.
long long omni_original_nofile_limit(void);

/// CLOCK_MONOTONIC in nanoseconds: cheap, for deadlines on an event loop.
long long omni_monotonic_ns(void);

/// Catches `signals` with a handler that writes each signal's number as one byte to a pipe
/// (the self-pipe trick) and returns the pipe's read end (close-on-exec, blocking), or -1 and
/// errno. Whichever thread the kernel picks runs the handler, so no signal depends on any
/// thread's mask. Call once; a byte that finds the pipe full (64 KiB unread) is dropped.
int omni_signal_pipe(const int *signals, int count);

#endif
