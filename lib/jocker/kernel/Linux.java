//DEPS com.github.jnr:jnr-ffi:2.2.16
package jocker.kernel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.SaveError;

/**
 * The system calls a container runtime needs, one Java method per call.
 *
 * <p>This is the syscall layer we give you (rubber-docker's {@code linux.c} is the model): each
 * method keeps the C semantics visible, its javadoc names the man page to read, and every failure
 * throws a {@link LinuxException} that names the call, its arguments and {@code strerror(errno)},
 * for example {@code pivot_root("/var/lib/jocker/containers/ab12/rootfs", ".old"): Invalid argument}.
 *
 * <p>With {@code --trace} (or {@code JOCKER_TRACE=1} in the environment) every call is printed on
 * stderr the way strace prints it, on both sides of the two-stage process model:
 * <pre>
 * [pid 4711] unshare(CLONE_NEWNS|CLONE_NEWPID) = 0
 * [pid    1] pivot_root("/var/lib/jocker/...", ".old") = -1 EINVAL (Invalid argument)
 * </pre>
 */
public final class Linux {
    private Linux() {}

    // ---- clone(2) flags: which namespaces a process is born into (man 7 namespaces) ----
    public static final int CLONE_FS = 0x00000200;         // share root, cwd and umask (unshare: stop sharing them)
    public static final int CLONE_NEWNS = 0x00020000;      // mount namespace (man 7 mount_namespaces)
    public static final int CLONE_NEWCGROUP = 0x02000000;  // cgroup namespace (man 7 cgroup_namespaces)
    public static final int CLONE_NEWUTS = 0x04000000;     // hostname and domain name (man 7 uts_namespaces)
    public static final int CLONE_NEWIPC = 0x08000000;     // System V IPC, POSIX queues (man 7 ipc_namespaces)
    public static final int CLONE_NEWUSER = 0x10000000;    // user and group ids (man 7 user_namespaces)
    public static final int CLONE_NEWPID = 0x20000000;     // process ids (man 7 pid_namespaces)
    public static final int CLONE_NEWNET = 0x40000000;     // network devices, addresses, ports (man 7 network_namespaces)

    // ---- mount(2) flags ----
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_REMOUNT = 32;
    public static final long MS_NOATIME = 1024;
    public static final long MS_BIND = 4096;
    public static final long MS_MOVE = 8192;
    public static final long MS_REC = 16384;
    public static final long MS_SILENT = 32768;
    public static final long MS_UNBINDABLE = 1 << 17;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final long MS_SHARED = 1 << 20;
    public static final long MS_RELATIME = 1 << 21;
    public static final long MS_STRICTATIME = 1 << 24;

    // ---- umount2(2) flags ----
    public static final int MNT_FORCE = 1;
    public static final int MNT_DETACH = 2;
    public static final int MNT_EXPIRE = 4;

    // ---- prctl(2) options ----
    public static final int PR_SET_PDEATHSIG = 1;
    public static final int PR_SET_NAME = 15;
    public static final int PR_SET_CHILD_SUBREAPER = 36;

    // ---- signals (man 7 signal), the x86_64 and aarch64 numbers ----
    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12,
            SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19;

    // ---- mknod(2) file types and the errno values callers test for ----
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, ECHILD = 10, EACCES = 13,
            EBUSY = 16, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOEXEC = 8, ENOSYS = 38,
            ENODEV = 19, ENODATA = 61, ENOTSUP = 95;

    /**
     * The C library functions this class calls, as jnr-ffi binds them: one Java method per C
     * function, with C's types ({@code size_t} and {@code ssize_t} as long, {@code pid_t},
     * {@code uid_t} and {@code mode_t} as int, a {@code char *const []} as String[], which jnr-ffi
     * ends with NULL). {@code @SaveError} keeps errno for us.
     */
    public interface LibC {
        @SaveError int unshare(int flags);
        @SaveError int setns(int fd, int nstype);
        @SaveError int mount(String source, String target, String fstype, long flags, String data);
        @SaveError int umount2(String target, int flags);
        @SaveError int sethostname(String name, long len);
        @SaveError int chroot(String path);
        @SaveError int chdir(String path);
        @SaveError int mkdir(String path, int mode);
        @SaveError int rmdir(String path);
        @SaveError int mknod(String path, int mode, long dev);
        @SaveError int lsetxattr(String path, String name, byte[] value, long size, int flags);
        @SaveError long lgetxattr(String path, String name, byte[] value, long size);
        int getpid();
        int geteuid();
        @SaveError int kill(int pid, int sig);
        @SaveError int waitpid(int pid, int[] wstatus, int options);
        @SaveError int execve(String path, String[] argv, String[] envp);
        @SaveError int prctl(int option, long arg2, long arg3, long arg4, long arg5);
        @SaveError int setgroups(long size, int[] list);
        @SaveError int setgid(int gid);
        @SaveError int setuid(int uid);
        int umask(int mask);
        @SaveError int pipe2(int[] fds, int flags);
        @SaveError long read(int fd, byte[] buf, long count);
        @SaveError long write(int fd, byte[] buf, long count);
        @SaveError int close(int fd);
        @SaveError int fcntl(int fd, int cmd, int arg);
        String strerror(int errnum);
        // posix_spawn(3) and its file actions: these return an error number instead of setting errno.
        int posix_spawn_file_actions_init(Pointer fileActions);
        int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newfd);
        int posix_spawn_file_actions_addopen(Pointer fileActions, int fd, String path, int oflag, int mode);
        int posix_spawn_file_actions_destroy(Pointer fileActions);
        int posix_spawnp(int[] pid, String file, Pointer fileActions, Pointer attrp, String[] argv, String[] envp);
        @SaveError long syscall(long number, String arg1, String arg2);
        @SaveError long syscall(long number, long arg1, long arg2, long arg3);
        @SaveError long syscall(long number, long arg1, Pointer arg2, Pointer arg3, long arg4);
    }

    static {
        // jnr-ffi's default loader generates bytecode (ASM) for every method of a native interface
        // up front: a short-lived JVM would spend most of its jnr start there. Its reflection
        // loader binds a function on its first call instead.
        if (System.getProperty("jnr.ffi.asm.enabled") == null) System.setProperty("jnr.ffi.asm.enabled", "false");
        NativeStub.useCachedCopy();   // and jffi's C part from a cache, not a new copy in /tmp
    }

    private static final LibC libc = bindLibc(LibC.class);
    private static final jnr.ffi.Runtime ffi = jnr.ffi.Runtime.getRuntime(libc);
    private static final boolean AARCH64 = System.getProperty("os.arch").equals("aarch64");
    public static final int O_CLOEXEC = 02000000;

    static {
        // jnr-ffi starts a helper thread on its first native allocation. A thread that has done
        // unshare(CLONE_NEWPID) can no longer create threads, so we make that allocation here,
        // on whichever thread first touches this class. See InitProcess.
        jnr.ffi.Memory.allocateDirect(ffi, 16);
        libc.getpid();
    }

    /**
     * Binds the native interface {@code type} to the C library, by its soname first. jnr-ffi opens a
     * name it is given as it is; for "c" it first lists every directory of the library path against
     * a pattern, to find the highest libc.so.N (1,300 files in /usr/lib/x86_64-linux-gnu here, twice
     * through the /lib link), which cost a JVM's start ~20 ms. "c" stays the fallback for a C library
     * with another soname (musl's).
     */
    public static <T> T bindLibc(Class<T> type) {
        try {
            return LibraryLoader.create(type).load("libc.so.6");
        } catch (LinkageError notGlibc) {
            return LibraryLoader.create(type).load("c");
        }
    }

    /**
     * Binds libc now, if no call has yet: what this class's first use costs (tens of ms of a JVM's
     * start), without a system call or a trace line. For a warm-up on another thread.
     */
    public static void load() {}

    // ------------------------------------------------------------------------------------------
    // Tracing
    // ------------------------------------------------------------------------------------------

    /** Turns strace-style tracing of every call on; the init process inherits it via JOCKER_TRACE. */
    public static void enableTrace() { Trace.enable(); }

    public static boolean tracing() { return Trace.enabled(); }

    private static void traceOk(String call, long result) { Trace.line(call, Long.toString(result)); }

    private static LinuxException fail(String call, int errno) {
        if (Trace.enabled()) Trace.line(call, "-1 " + errnoName(errno) + " (" + strerror(errno) + ")");
        return new LinuxException(call, errno, strerror(errno));
    }

    /** {@code strerror(3)}: the text libc gives for an errno value. */
    public static String strerror(int errno) { return libc.strerror(errno); }

    /** The names strace prints for errno values (asm-generic/errno-base.h and errno.h, 1-133). */
    private static final String[] ERRNO_NAMES = ("EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD"
            + " EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE"
            + " EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG"
            + " ENOLCK ENOSYS ENOTEMPTY ELOOP E41 ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH"
            + " ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT E58 EBFONT ENOSTR ENODATA ETIME ENOSR"
            + " ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW"
            + " ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE"
            + " EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT"
            + " ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN"
            + " ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN"
            + " ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE"
            + " EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY"
            + " EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON").split(" ");

    /** The symbolic name of an errno value, as strace prints it: {@code ENOENT} for 2. */
    static String errnoName(int errno) {
        return errno >= 1 && errno <= ERRNO_NAMES.length ? ERRNO_NAMES[errno - 1] : "E" + errno;
    }

    private static String q(String s) { return s == null ? "NULL" : '"' + s + '"'; }

    /** Like strace -s: long strings (a classpath) are cut, so a trace line stays readable. */
    private static String qShort(String s) {
        return s.length() <= 64 ? q(s) : '"' + s.substring(0, 61) + "\"...";
    }

    private static String flags(long value, Map<Long, String> names) {
        if (value == 0) return "0";
        List<String> parts = new ArrayList<>();
        long rest = value;
        for (var e : names.entrySet()) {
            if ((rest & e.getKey()) == e.getKey()) {
                parts.add(e.getValue());
                rest &= ~e.getKey();
            }
        }
        if (rest != 0) parts.add("0x" + Long.toHexString(rest));
        return String.join("|", parts);
    }

    /** In the order of their bits, so that a trace line reads the same in every run. */
    private static final Map<Long, String> CLONE_NAMES = new java.util.LinkedHashMap<>();
    static {
        CLONE_NAMES.put((long) CLONE_FS, "CLONE_FS");
        CLONE_NAMES.put((long) CLONE_NEWNS, "CLONE_NEWNS"); CLONE_NAMES.put((long) CLONE_NEWCGROUP, "CLONE_NEWCGROUP");
        CLONE_NAMES.put((long) CLONE_NEWUTS, "CLONE_NEWUTS"); CLONE_NAMES.put((long) CLONE_NEWIPC, "CLONE_NEWIPC");
        CLONE_NAMES.put((long) CLONE_NEWUSER, "CLONE_NEWUSER"); CLONE_NAMES.put((long) CLONE_NEWPID, "CLONE_NEWPID");
        CLONE_NAMES.put((long) CLONE_NEWNET, "CLONE_NEWNET");
    }

    private static final Map<Long, String> MS_NAMES = new java.util.LinkedHashMap<>();
    static {
        MS_NAMES.put(MS_RDONLY, "MS_RDONLY"); MS_NAMES.put(MS_NOSUID, "MS_NOSUID");
        MS_NAMES.put(MS_NODEV, "MS_NODEV"); MS_NAMES.put(MS_NOEXEC, "MS_NOEXEC");
        MS_NAMES.put(MS_REMOUNT, "MS_REMOUNT"); MS_NAMES.put(MS_NOATIME, "MS_NOATIME");
        MS_NAMES.put(MS_BIND, "MS_BIND"); MS_NAMES.put(MS_MOVE, "MS_MOVE");
        MS_NAMES.put(MS_REC, "MS_REC"); MS_NAMES.put(MS_SILENT, "MS_SILENT");
        MS_NAMES.put(MS_UNBINDABLE, "MS_UNBINDABLE"); MS_NAMES.put(MS_PRIVATE, "MS_PRIVATE");
        MS_NAMES.put(MS_SLAVE, "MS_SLAVE"); MS_NAMES.put(MS_SHARED, "MS_SHARED");
        MS_NAMES.put(MS_RELATIME, "MS_RELATIME"); MS_NAMES.put(MS_STRICTATIME, "MS_STRICTATIME");
    }

    /** Formats clone flags the way strace does: {@code CLONE_NEWNS|CLONE_NEWPID}. */
    public static String cloneFlags(int flags) { return flags(flags, CLONE_NAMES); }

    /** Formats mount flags the way strace does: {@code MS_BIND|MS_REC}. */
    public static String mountFlags(long flags) { return flags(flags, MS_NAMES); }

    private static int check(String call, int result) {
        if (result < 0) throw fail(call, ffi.getLastError());
        traceOk(call, result);
        return result;
    }

    private static int[] check2(String call, int result, int[] fds) {
        check(call, result);
        return fds;
    }

    // ------------------------------------------------------------------------------------------
    // Namespaces
    // ------------------------------------------------------------------------------------------

    /**
     * {@code int unshare(int flags)}: moves the calling <em>thread</em> into new namespaces.
     *
     * <p>man 2 unshare. The JVM is multi-threaded, so this changes only the thread that calls it;
     * a process spawned from that thread is born into the new namespaces. After CLONE_NEWPID the
     * caller itself stays in its old PID namespace, only its next child is PID 1 of the new one,
     * and the thread can no longer create threads (EINVAL). CLONE_NEWUSER fails with EINVAL in a
     * multi-threaded process. Errors: EPERM without CAP_SYS_ADMIN, EINVAL, ENOMEM, ENOSPC.
     */
    public static void unshare(int flags) {
        check("unshare(" + cloneFlags(flags) + ")", libc.unshare(flags));
    }

    /**
     * {@code int setns(int fd, int nstype)}: moves the calling thread into the namespace that
     * {@code fd} (an open {@code /proc/PID/ns/*} file) refers to. man 2 setns. Errors: EBADF, EINVAL
     * (wrong type, or CLONE_NEWPID/CLONE_NEWUSER rules), EPERM.
     */
    public static void setns(int fd, int nstype) {
        check("setns(" + fd + ", " + cloneFlags(nstype) + ")", libc.setns(fd, nstype));
    }

    /**
     * {@code int sethostname(const char *name, size_t len)}: sets the hostname of the caller's UTS
     * namespace. man 2 sethostname. Errors: EINVAL (longer than 64 bytes), EPERM.
     */
    public static void sethostname(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        check("sethostname(" + q(name) + ", " + bytes.length + ")", libc.sethostname(name, bytes.length));
    }

    // ------------------------------------------------------------------------------------------
    // Filesystems
    // ------------------------------------------------------------------------------------------

    /**
     * {@code int mount(const char *source, const char *target, const char *fstype, unsigned long
     * flags, const void *data)}. man 2 mount, man 7 mount_namespaces for propagation (MS_PRIVATE,
     * MS_SLAVE, MS_SHARED, with MS_REC for a whole tree). {@code source}, {@code fstype} and
     * {@code data} may be null. Errors: EINVAL (bad flags, or propagation change of a non-mount
     * point), ENOENT (target missing), EPERM, EBUSY, ENODEV (unknown filesystem type).
     */
    public static void mount(String source, String target, String fstype, long flags, String data) {
        String call = "mount(" + q(source) + ", " + q(target) + ", " + q(fstype) + ", "
                + mountFlags(flags) + ", " + q(data) + ")";
        check(call, libc.mount(source, target, fstype, flags, data));
    }

    /**
     * {@code int umount2(const char *target, int flags)}: detaches a mount. man 2 umount2. With
     * MNT_DETACH the mount disappears now and is cleaned up when it is no longer busy.
     * Errors: EBUSY, EINVAL (not a mount point), ENOENT, EPERM.
     */
    public static void umount2(String target, int flags) {
        String f = flags == 0 ? "0" : (flags & MNT_DETACH) != 0 ? "MNT_DETACH" : Integer.toString(flags);
        check("umount2(" + q(target) + ", " + f + ")", libc.umount2(target, flags));
    }

    /**
     * {@code int pivot_root(const char *new_root, const char *put_old)}: makes {@code newRoot} the
     * root of the calling process's mount namespace and moves the old root to {@code putOld}.
     * man 2 pivot_root. There is no libc wrapper, so this goes through {@code syscall(2)} with
     * number 155 (x86_64) or 41 (aarch64). EINVAL if new_root is not a mount point, if put_old is
     * not at or under new_root, if the current root is on the rootfs (initramfs), or if new_root or
     * the old root's mount is shared (make the tree private first). EBUSY: new_root or put_old is
     * the current root.
     */
    public static void pivotRoot(String newRoot, String putOld) {
        long nr = AARCH64 ? 41 : 155;
        check("pivot_root(" + q(newRoot) + ", " + q(putOld) + ")", (int) libc.syscall(nr, newRoot, putOld));
    }

    /**
     * {@code int chroot(const char *path)}: changes the root directory of the calling process to
     * {@code path}; the working directory stays where it was (that is the classic breakout, see
     * chapter 02). man 2 chroot. Errors: ENOENT, ENOTDIR, EACCES, EPERM.
     */
    public static void chroot(String path) {
        check("chroot(" + q(path) + ")", libc.chroot(path));
    }

    /** {@code int chdir(const char *path)}: changes the working directory. man 2 chdir. */
    public static void chdir(String path) {
        check("chdir(" + q(path) + ")", libc.chdir(path));
    }

    /**
     * {@code int mkdir(const char *path, mode_t mode)}: creates a directory. man 2 mkdir. The umask
     * applies to {@code mode}. Errors: EEXIST, ENOENT (a parent is missing), EROFS, EACCES.
     */
    public static void mkdir(String path, int mode) {
        check(String.format("mkdir(%s, 0%o)", q(path), mode), libc.mkdir(path, mode));
    }

    /**
     * {@code int rmdir(const char *path)}: removes an empty directory. man 2 rmdir. Errors: ENOTEMPTY,
     * EBUSY (something is mounted on it), ENOENT.
     */
    public static void rmdir(String path) {
        check("rmdir(" + q(path) + ")", libc.rmdir(path));
    }

    /**
     * {@code int mknod(const char *path, mode_t mode, dev_t dev)}: creates a device node, e.g.
     * {@code mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3))}. man 2 mknod. The umask applies to
     * the permission bits. Errors: EEXIST, EPERM (no CAP_MKNOD), ENOENT.
     */
    public static void mknod(String path, int mode, long dev) {
        String call = String.format("mknod(%s, %s|0%o, makedev(%d, %d))", q(path),
                (mode & S_IFCHR) == S_IFCHR ? "S_IFCHR" : "S_IFBLK", mode & 07777, major(dev), minor(dev));
        check(call, libc.mknod(path, mode, dev));
    }

    /**
     * {@code int lsetxattr(const char *path, const char *name, const void *value, size_t size, int
     * flags)}: sets an extended attribute of {@code path} itself (a symlink is not followed).
     * man 2 setxattr, man 7 xattr. The {@code trusted.} namespace (overlayfs keeps its
     * {@code trusted.overlay.opaque} there) needs CAP_SYS_ADMIN; Java's own xattr view reaches
     * {@code user.} only. Errors: ENOTSUP (the filesystem has no xattrs), EPERM, ENOENT.
     */
    public static void lsetxattr(String path, String name, byte[] value) {
        String call = "lsetxattr(" + q(path) + ", " + q(name) + ", " + q(new String(value, java.nio.charset.StandardCharsets.UTF_8))
                + ", " + value.length + ", 0)";
        check(call, libc.lsetxattr(path, name, value, value.length, 0));
    }

    /**
     * {@code ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)}: reads
     * an extended attribute of {@code path} itself; returns null if it has none (ENODATA) or the
     * filesystem keeps none (ENOTSUP). man 2 getxattr. Not traced: it only reads.
     */
    public static byte[] lgetxattr(String path, String name) {
        byte[] buf = new byte[256];
        long n = libc.lgetxattr(path, name, buf, buf.length);
        if (n < 0) {
            int errno = ffi.getLastError();
            if (errno == ENODATA || errno == ENOTSUP) return null;
            throw fail("lgetxattr(" + q(path) + ", " + q(name) + ")", errno);
        }
        return java.util.Arrays.copyOf(buf, (int) n);
    }

    /** {@code makedev(3)}: a device number from its major and minor numbers, glibc's encoding. */
    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    private static long major(long dev) { return ((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL); }

    private static long minor(long dev) { return ((dev >>> 12) & 0xffffff00L) | (dev & 0xffL); }

    // ------------------------------------------------------------------------------------------
    // Processes
    // ------------------------------------------------------------------------------------------

    /** {@code pid_t getpid(void)}: the caller's process id, as its own PID namespace sees it. */
    public static int getpid() { return libc.getpid(); }

    /** {@code uid_t geteuid(void)}: the caller's effective user id; 0 is root. man 2 geteuid. */
    public static int geteuid() { return libc.geteuid(); }

    /**
     * {@code int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t
     * *file_actions, const posix_spawnattr_t *attrp, char *const argv[], char *const envp[])}:
     * starts {@code argv} as a new process, from the calling thread, so that it is born into the
     * namespaces that thread has unshared. man 3 posix_spawn. This is how a JVM, which must not
     * fork(), creates a child. {@code fdMap} maps a descriptor of ours to the number the child
     * sees: one {@code posix_spawn_file_actions_adddup2} each, run in the child in the map's order;
     * descriptors 0, 1 and 2 are inherited, or opened on /dev/null when we have no real one (see
     * {@link #isRealStdio}). A file without a slash is looked up in our PATH. Unlike a system
     * call, it returns the error number instead of setting errno; glibc reports the child's
     * failed exec (ENOENT, EACCES) that way too. Returns the child's pid.
     */
    public static int posixSpawn(List<String> argv, List<String> env, Map<Integer, Integer> fdMap) {
        return posixSpawn(argv.get(0), argv, env, fdMap);
    }

    /** Like {@link #posixSpawn(List, List, Map)}, running the program at {@code path} (argv[0] may differ). */
    public static int posixSpawn(String path, List<String> argv, List<String> env, Map<Integer, Integer> fdMap) {
        String call = "posix_spawn(" + q(path) + ", [" + argv.stream().map(Linux::qShort)
                .collect(Collectors.joining(", ")) + "])";
        // posix_spawn_file_actions_t is 80 bytes in glibc (x86_64 and aarch64); we give it room.
        Pointer actions = jnr.ffi.Memory.allocateDirect(ffi, 128, true);
        spawnCheck(call, libc.posix_spawn_file_actions_init(actions));
        try {
            for (var dup : fdMap.entrySet()) {
                spawnCheck(call, libc.posix_spawn_file_actions_adddup2(actions, dup.getKey(), dup.getValue()));
            }
            for (int fd = 0; fd <= 2; fd++) {
                if (!fdMap.containsValue(fd) && !isRealStdio(fd)) {
                    spawnCheck(call, libc.posix_spawn_file_actions_addopen(actions, fd, "/dev/null", 2 /* O_RDWR */, 0));
                }
            }
            int[] pid = new int[1];
            spawnCheck(call, libc.posix_spawnp(pid, path, actions, null,
                    argv.toArray(String[]::new), env.toArray(String[]::new)));
            traceOk(call, pid[0]);
            return pid[0];
        } finally {
            libc.posix_spawn_file_actions_destroy(actions);
        }
    }

    /** posix_spawn and its helpers return 0 or an error number. */
    private static void spawnCheck(String call, int error) {
        if (error != 0) throw fail(call, error);
    }

    /**
     * Whether descriptor {@code fd} (0, 1 or 2) is what our caller gave us as stdin, stdout or
     * stderr. If they started us with it closed ({@code cmd <&-}), the JVM's own first open (its
     * lib/modules, a jar) took the number, and a child must not inherit that as its stdin: it
     * gets /dev/null instead, as under Docker. So: closed, a file of the JDK or of our classpath,
     * or a read-only stdout or stderr, is not real.
     */
    public static boolean isRealStdio(int fd) {
        Path link = Path.of("/proc/self/fd/" + fd);
        if (!Files.isDirectory(Path.of("/proc/self/fd"))) return true;   // no /proc: cannot tell
        String target;
        try {
            target = Files.readSymbolicLink(link).toString();
        } catch (java.io.IOException e) {
            return false;   // closed
        }
        if (target.startsWith(System.getProperty("java.home") + "/")) return false;
        for (String entry : System.getProperty("java.class.path", "").split(":")) {
            if (!entry.isEmpty() && target.equals(entry)) return false;
        }
        if (fd > 0) {
            try {
                String flags = Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream()
                        .filter(l -> l.startsWith("flags:")).findFirst().orElse("flags: 2");
                if ((Integer.parseInt(flags.substring(6).trim(), 8) & 3) == 0) return false;   // O_RDONLY
            } catch (java.io.IOException | NumberFormatException e) {
                return true;
            }
        }
        return true;
    }

    /**
     * {@code int execve(const char *path, char *const argv[], char *const envp[])}: replaces the
     * calling process with the program at {@code path}. man 2 execve. It does not return when it
     * works. Errors: ENOENT (no such file, or its interpreter is missing), EACCES (not executable,
     * or a directory), ENOEXEC (unknown format), ETXTBSY.
     */
    public static void execve(String path, List<String> argv, List<String> env) {
        String call = "execve(" + q(path) + ", [" + argv.stream().map(Linux::q).collect(Collectors.joining(", "))
                + "], [/* " + env.size() + " vars */])";
        Trace.pending(call);
        libc.execve(path, argv.toArray(String[]::new), env.toArray(String[]::new));
        throw fail(call, ffi.getLastError());
    }

    /**
     * {@code execvpe(3)}: like execve, but a {@code file} without a slash is looked up in the
     * {@code PATH} of {@code env} (not of the caller: the container has its own). Like the shell,
     * it remembers EACCES from a match that was not executable and reports it if nothing else
     * matched; otherwise ENOENT.
     */
    public static void execvpe(String file, List<String> argv, List<String> env) {
        if (file.contains("/")) {
            execve(file, argv, env);
        }
        LinuxException denied = null;
        for (Path candidate : Processes.pathCandidates(file, env)) {
            try {
                execve(candidate.toString(), argv, env);
            } catch (LinuxException e) {
                if (e.errno() != EACCES) throw e;
                denied = e;
            }
        }
        if (denied != null) throw denied;
        throw fail("execvpe(" + q(file) + ")", ENOENT);
    }

    // tag::wait-status[]
    /** The status {@code waitpid(2)} reports, decoded with the macros of man 2 wait. */
    public record WaitStatus(int pid, int raw) {
        /** WIFEXITED: the child called exit(2) or returned from main. */
        public boolean exited() { return (raw & 0x7f) == 0; }
        /** WEXITSTATUS: the low 8 bits of the exit status; valid when {@link #exited()}. */
        public int exitStatus() { return (raw >> 8) & 0xff; }
        /** WIFSIGNALED: the child was killed by a signal. */
        public boolean signaled() { return (raw & 0x7f) != 0 && (raw & 0x7f) != 0x7f; }
        /** WTERMSIG: the signal that killed the child; valid when {@link #signaled()}. */
        public int termSignal() { return raw & 0x7f; }
        /** WCOREDUMP: the child dumped core. */
        public boolean coreDumped() { return (raw & 0x80) != 0; }

        @Override public String toString() {
            if (exited()) return "{WIFEXITED(s) && WEXITSTATUS(s) == " + exitStatus() + "}";
            if (signaled()) return "{WIFSIGNALED(s) && WTERMSIG(s) == " + termSignal() + "}";
            return "{s=0x" + Integer.toHexString(raw) + "}";
        }
    }
    // end::wait-status[]

    /**
     * {@code pid_t waitpid(pid_t pid, int *wstatus, int options)}: waits until child {@code pid}
     * changes state and reaps it. man 2 waitpid. Any thread of the process may wait for a child of
     * any other thread. Retries on EINTR. Errors: ECHILD (not our child, or already reaped).
     */
    public static WaitStatus waitpid(int pid, int options) {
        int[] status = new int[1];
        while (true) {
            int r = libc.waitpid(pid, status, options);
            if (r >= 0) {
                WaitStatus s = new WaitStatus(r, status[0]);
                Trace.line("waitpid(" + pid + ", " + s + ", " + options + ")", Integer.toString(r));
                return s;
            }
            int errno = ffi.getLastError();
            if (errno != EINTR) throw fail("waitpid(" + pid + ")", errno);
        }
    }

    /** {@code int kill(pid_t pid, int sig)}: sends a signal. man 2 kill. Errors: ESRCH, EPERM. */
    public static void kill(int pid, int signal) {
        check("kill(" + pid + ", " + signal + ")", libc.kill(pid, signal));
    }

    /**
     * {@code int prctl(int option, unsigned long arg2, ...)}: process settings. man 2 prctl. The
     * runtime uses PR_SET_PDEATHSIG (a signal the kernel sends us when the thread that created us
     * exits) and PR_SET_CHILD_SUBREAPER.
     */
    public static void prctl(int option, long arg) {
        check("prctl(" + option + ", " + arg + ")", libc.prctl(option, arg, 0, 0, 0));
    }

    // ------------------------------------------------------------------------------------------
    // Credentials: who the user's command runs as (man 7 credentials)
    // ------------------------------------------------------------------------------------------

    /**
     * {@code int setgroups(size_t size, const gid_t *list)}: sets the supplementary group ids of the
     * caller. man 2 setgroups. Needs CAP_SETGID. The system call changes only the calling thread;
     * glibc's wrapper, which this calls, makes every thread of the process follow (nptl(7), "setxid"),
     * as POSIX wants. The same holds for {@link #setgid} and {@link #setuid}. Errors: EPERM, EINVAL
     * (more than NGROUPS_MAX groups).
     */
    public static void setgroups(int[] gids) {
        String call = "setgroups(" + gids.length + ", " + Arrays.toString(gids) + ")";
        check(call, libc.setgroups(gids.length, gids));
    }

    /**
     * {@code int setgid(gid_t gid)}: for a caller with CAP_SETGID, sets the real, effective and saved
     * group id, all three. man 2 setgid. Errors: EPERM, EINVAL (no such id in the user namespace).
     */
    public static void setgid(int gid) {
        check("setgid(" + gid + ")", libc.setgid(gid));
    }

    /**
     * {@code int setuid(uid_t uid)}: for a caller with CAP_SETUID, sets the real, effective and saved
     * user id, all three; from a uid of 0 to another, the process also loses every capability it had
     * (man 7 capabilities, "Effect of user ID changes on capabilities"), so this comes last. man 2
     * setuid. Errors: EPERM, EINVAL, EAGAIN (RLIMIT_NPROC of the new user).
     */
    public static void setuid(int uid) {
        check("setuid(" + uid + ")", libc.setuid(uid));
    }

    /** {@code mode_t umask(mode_t mask)}: sets the file mode creation mask; returns the old one. man 2 umask. */
    public static int umask(int mask) {
        int old = libc.umask(mask);
        Trace.line(String.format("umask(0%o)", mask), String.format("0%o", old));
        return old;
    }

    // ------------------------------------------------------------------------------------------
    // Descriptors: the sync pipe between the runtime and the container's init
    // ------------------------------------------------------------------------------------------

    /**
     * {@code int pipe2(int pipefd[2], int flags)}: a one-way channel, [0] to read and [1] to write.
     * man 2 pipe. We always pass O_CLOEXEC, so that no other child inherits our ends by accident.
     */
    public static int[] pipe() {
        int[] fds = new int[2];
        int r = libc.pipe2(fds, O_CLOEXEC);
        return check2("pipe2([" + fds[0] + ", " + fds[1] + "], O_CLOEXEC)", r, fds);
    }

    /** {@code ssize_t read(int fd, void *buf, size_t count)}. man 2 read. 0 means end of file. */
    public static int read(int fd, byte[] buf) {
        while (true) {
            long n = libc.read(fd, buf, buf.length);
            if (n >= 0) return (int) n;
            int errno = ffi.getLastError();
            if (errno != EINTR) throw fail("read(" + fd + ")", errno);
        }
    }

    /** {@code ssize_t write(int fd, const void *buf, size_t count)}, all of {@code buf}. man 2 write. */
    public static void write(int fd, byte[] buf) {
        int off = 0;
        while (off < buf.length) {
            byte[] rest = Arrays.copyOfRange(buf, off, buf.length);
            long n = libc.write(fd, rest, rest.length);
            if (n < 0) {
                int errno = ffi.getLastError();
                if (errno != EINTR) throw fail("write(" + fd + ")", errno);
            }
            if (n > 0) off += n;
        }
    }

    /** {@code int close(int fd)}. man 2 close. */
    public static void close(int fd) {
        check("close(" + fd + ")", libc.close(fd));
    }

    /**
     * Marks every descriptor from {@code first} up as close-on-exec, so that the user's command
     * inherits only stdin, stdout and stderr: {@code close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)}
     * (man 2 close_range, Linux 5.11; number 436 on x86_64 and aarch64), or one
     * {@code fcntl(fd, F_SETFD, FD_CLOEXEC)} per entry of /proc/self/fd on older kernels.
     */
    public static void closeOnExecFrom(int first) {
        final int CLOSE_RANGE_CLOEXEC = 1 << 2;
        int r = (int) libc.syscall(436, first, 0xffffffffL, CLOSE_RANGE_CLOEXEC);
        if (r == 0) {
            traceOk("close_range(" + first + ", ~0U, CLOSE_RANGE_CLOEXEC)", 0);
            return;
        }
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : fds.toList()) {
                int fd = Integer.parseInt(p.getFileName().toString());
                if (fd >= first) libc.fcntl(fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
            }
        } catch (java.io.IOException e) {
            throw new LinuxException("close_range(" + first + ")", ENOSYS, e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------
    // Signal dispositions
    // ------------------------------------------------------------------------------------------

    /**
     * What this process's signal state looks like in /proc/self/status: the signals it ignores
     * ({@code SigIgn}) and the ones its main thread blocks ({@code SigBlk}), as bit masks where bit
     * N-1 stands for signal N. Both survive execve (man 7 signal, "Signal disposition" and
     * "Signal mask"), so the init process reads them while /proc is the host's and undoes them
     * with {@link #resetSignals} just before exec.
     */
    public record SignalState(long ignored, long blocked) {}

    public static SignalState signalState() {
        long ignored = 0, blocked = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) ignored = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                if (line.startsWith("SigBlk:")) blocked = Long.parseUnsignedLong(line.substring(7).trim(), 16);
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // no /proc: nothing known to reset
        }
        return new SignalState(ignored, blocked);
    }

    /**
     * Gives the user's command the signal state Docker gives it, whatever the runtime inherited
     * (a shell starts background jobs with SIGINT ignored; the JVM blocks SIGQUIT in threads):
     * {@code rt_sigaction(sig, {SIG_DFL}, NULL, 8)} for every ignored signal, and
     * {@code rt_sigprocmask(SIG_SETMASK, [], NULL, 8)} if any is blocked. man 2 sigaction, man 2
     * sigprocmask. Raw system calls (rt_sigaction is 13 on x86_64 and 134 on aarch64,
     * rt_sigprocmask 14 and 135), because glibc's wrappers refuse the two signals it reserves for
     * itself (32 and 33), which a JVM may leave ignored.
     */
    public static void resetSignals(SignalState state) {
        jnr.ffi.Pointer zeros = jnr.ffi.Memory.allocateDirect(ffi, 32, true);   // SIG_DFL, no flags, empty set
        for (int sig = 1; sig <= 64; sig++) {
            if ((state.ignored() & (1L << (sig - 1))) == 0 || sig == SIGKILL || sig == SIGSTOP) continue;
            String call = "rt_sigaction(" + sig + ", {SIG_DFL}, NULL, 8)";
            long r = libc.syscall(AARCH64 ? 134 : 13, sig, zeros, null, 8);
            if (r < 0) throw fail(call, ffi.getLastError());
            traceOk(call, r);
        }
        if (state.blocked() != 0) {
            final int SIG_SETMASK = 2;
            long r = libc.syscall(AARCH64 ? 135 : 14, SIG_SETMASK, zeros, null, 8);
            if (r < 0) throw fail("rt_sigprocmask(SIG_SETMASK, [], NULL, 8)", ffi.getLastError());
            traceOk("rt_sigprocmask(SIG_SETMASK, [], NULL, 8)", r);
        }
    }

    /** A failed system call: which call, with which arguments, and errno. */
    public static final class LinuxException extends RuntimeException {
        private final String call;
        private final int errno;

        public LinuxException(String call, int errno, String reason) {
            super(call + ": " + reason);
            this.call = call;
            this.errno = errno;
        }

        public String call() { return call; }
        public int errno() { return errno; }
        public String reason() { return strerror(errno); }
    }
}
