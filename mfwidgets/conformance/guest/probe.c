/*
 * probe.c: the mfwidgets conformance guest program.
 *
 * Runs as PID 1 (/init) inside a qemu guest booted with a stock kernel. It reads the scenarios
 * from /scenarios.txt (a line format written by mfwidgets/conformance/scenario.py), runs each
 * scenario in a forked process, each load/store in a further forked child with an SA_SIGINFO
 * SIGBUS handler, and prints machine-parsable lines to the serial console:
 *
 *   @@BEGIN <version string>
 *   @@SCENARIO <name>
 *   @@CNT <n> key=value ...     counters after step n (n = -1: before the first step)
 *   @@STEP <n> <op> ret=<v> | err=<ERRNAME>
 *   @@SIG <n> code=<si_code> off=<si_addr - mapping base> lsb=<si_addr_lsb> [who=peer]
 *   @@DATA <n> pattern|zero|other
 *   @@HEAD <hugepage> <pfn>     head pfns of the mapping, after each fill
 *   @@MAP <n> <base> <length> [who=peer]
 *   @@KMSG <n> <kernel log text>
 *   @@OUT <n> <line>            a line the selftest printed (step "selftest")
 *   @@MCE-INJECT <n> srao|srar cpu=<c> addr=<guest-physical address>
 *                               (the host raises that machine check through the qemu monitor)
 *   @@END <name>
 *   @@DONE
 *
 * A scenario process may fork one peer ("fork"): it waits for commands on a pipe, does the
 * steps marked peer=1 itself (mmap, munmap, load, store, prctl_mce_kill, exit), and after every
 * step reports the SIGBUSes it got (an early-kill AO arrives while it waits). Its signal
 * offsets are into its own mapping that holds the address.
 *
 * Only the stock kernel surface is used (MFD_MF_KEEP_UE_MAPPED appears only as a flag probed by
 * memfd_create, which a scenario may ask for). On a kernel built with the keep series the
 * initramfs also holds the series' selftest as /hugetlb-mfr (step "selftest") and a static
 * busybox as /bin/sh and /bin/cat (the selftest reads nr_hugepages through popen("cat ...")). It refuses to run unless it is PID 1 or the
 * environment has HWP_ORACLE_I_AM_A_GUEST set: it injects memory errors into the machine it
 * runs on. Build: gcc -O1 -Wall -static -o init probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef PR_MCE_KILL
#define PR_MCE_KILL 33
#endif
#ifndef PR_MCE_KILL_SET
#define PR_MCE_KILL_SET 1
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_KEEP_SIZE 0x01
#endif

#define PS 4096UL
#define MAGIC 0x5A5A000000000000ULL
#define MAXHP 64
#define MAXSIG 16
#define MAXMAP 8
#define MCE_WAIT_MS 30000
#define ANON_FIND_MB 512

static unsigned long hps = 2UL << 20; /* hugepage size of the scenario */
static unsigned long stride = 8;      /* the fill writes one u64 every stride bytes */
static int fd = -1;
static char *base; /* the mapping steps use: this process's newest */
static unsigned long maplen;
static struct {
	char *base;
	unsigned long len;
} maps[MAXMAP]; /* this process's mappings, oldest first */
static int nmaps;
static unsigned long heads[MAXHP];
static int kmsg = -1;
static int step;
static int is_peer;
static pid_t peer;              /* in the scenario process: the peer, 0 if none */
static int peer_cmd = -1, peer_ack = -1;

static volatile int nsig;
static siginfo_t sigs[MAXSIG];
static sigjmp_buf jb;
static volatile int in_access;

static void out(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	ssize_t w = write(1, buf, n);
	(void)w;
}

static const char *ename(int e)
{
	if (e == 133)
		return "EHWPOISON";
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (nsig < MAXSIG)
		sigs[nsig] = *si;
	nsig = nsig + 1;
	if (in_access)
		siglongjmp(jb, 1); /* a load or store faulted: give up that access */
	if (nsig > MAXSIG)
		_exit(99); /* a fault the process cannot survive: stop */
}

static void add_map(char *p, unsigned long len)
{
	if (nmaps == MAXMAP)
		nmaps--;
	maps[nmaps].base = p;
	maps[nmaps].len = len;
	nmaps++;
	base = p;
	maplen = len;
}

/* forget the newest mapping; the one before it (if any) is the one later steps use */
static void drop_map(void)
{
	if (nmaps > 0)
		nmaps--;
	if (nmaps > 0) {
		base = maps[nmaps - 1].base;
		maplen = maps[nmaps - 1].len;
	}
}

/* si_addr as an offset into the newest mapping of this process that holds it */
static long map_off(char *addr)
{
	for (int i = nmaps - 1; i >= 0; i--)
		if (addr >= maps[i].base && addr < maps[i].base + maps[i].len)
			return (long)(addr - maps[i].base);
	return (long)(addr - base);
}

static void print_sigs(void)
{
	for (int i = 0; i < nsig && i < MAXSIG; i++) {
		siginfo_t *si = &sigs[i];
		out("@@SIG %d code=%d off=%#lx lsb=%d%s\n", step, si->si_code,
		    map_off((char *)si->si_addr), (int)si->si_addr_lsb, is_peer ? " who=peer" : "");
	}
	nsig = 0;
}

/* Print the kernel log lines that are there; return 1 if one of them contains needle. */
static int drain_kmsg(const char *needle)
{
	char buf[8192];
	int seen = 0;
	for (;;) {
		ssize_t n = read(kmsg, buf, sizeof(buf) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;
			break;
		}
		buf[n] = 0;
		char *semi = strchr(buf, ';');
		if (!semi)
			continue;
		char *text = semi + 1;
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
		if (needle && strstr(text, needle))
			seen = 1;
		out("@@KMSG %d %s\n", step, text);
	}
	return seen;
}

static int wait_kmsg(const char *needle, long ms)
{
	for (long t = 0; t < ms; t += 20) {
		if (drain_kmsg(needle))
			return 1;
		sleep_ms(20);
	}
	return 0;
}

static int read_long(const char *path, long *v)
{
	char buf[64];
	int f = open(path, O_RDONLY);
	if (f < 0)
		return -1;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*v = strtol(buf, NULL, 10);
	return 0;
}

static void counters(void)
{
	char line[8192] = "";
	size_t len = 0;
	char buf[8192];
	int f = open("/proc/meminfo", O_RDONLY);
	ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
	if (f >= 0)
		close(f);
	if (n > 0) {
		buf[n] = 0;
		static const char *keys[] = {"HugePages_Total", "HugePages_Free", "HugePages_Rsvd",
					     "HugePages_Surp", "HardwareCorrupted"};
		for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char *p = strstr(buf, keys[i]);
			if (p && p[strlen(keys[i])] == ':')
				len += snprintf(line + len, sizeof(line) - len, " %s=%ld", keys[i],
						strtol(p + strlen(keys[i]) + 1, NULL, 10));
		}
	}
	static const char *sizes[][2] = {{"2M", "2048kB"}, {"1G", "1048576kB"}};
	static const char *fields[] = {"nr", "free", "resv", "surplus"};
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 4; i++) {
			char path[128];
			long v;
			snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%s/%s_hugepages",
				 sizes[s][1], fields[i]);
			if (read_long(path, &v) == 0)
				len += snprintf(line + len, sizeof(line) - len, " %s.%s=%ld", sizes[s][0],
						fields[i], v);
		}
	static const char *mf[] = {"total", "ignored", "failed", "delayed", "recovered"};
	for (int i = 0; i < 5; i++) {
		char path[128];
		long v;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node0/memory_failure/%s", mf[i]);
		if (read_long(path, &v) == 0)
			len += snprintf(line + len, sizeof(line) - len, " mf.%s=%ld", mf[i], v);
	}
	out("@@CNT %d%s\n", step, line);
}

static unsigned long pagemap_pfn(void *addr)
{
	uint64_t e = 0;
	int f = open("/proc/self/pagemap", O_RDONLY);
	if (f < 0)
		return 0;
	ssize_t n = pread(f, &e, 8, ((uintptr_t)addr / PS) * 8);
	close(f);
	if (n != 8 || !(e >> 63))
		return 0;
	return e & ((1ULL << 55) - 1);
}

static int write_str(const char *path, const char *s)
{
	int f = open(path, O_WRONLY);
	if (f < 0)
		return -errno;
	ssize_t n = write(f, s, strlen(s));
	int e = errno;
	close(f);
	return n < 0 ? -e : 0;
}

/* the byte the fill put at file offset off (zero between the words of a 1G fill) */
static uint8_t pattern_byte(unsigned long off)
{
	if ((off & (stride - 1)) >= 8)
		return 0;
	uint64_t w = MAGIC ^ (off & ~7UL);
	return (uint8_t)(w >> (8 * (off & 7)));
}

static const char *classify(const unsigned char *p, unsigned long off, unsigned long n)
{
	int pat = 1, zero = 1;
	for (unsigned long i = 0; i < n; i++) {
		if (p[i] != pattern_byte(off + i))
			pat = 0;
		if (p[i])
			zero = 0;
		if (!pat && !zero)
			break;
	}
	return pat ? "pattern" : zero ? "zero" : "other";
}

static void result(const char *op, long ret, int err)
{
	if (ret < 0)
		out("@@STEP %d %s err=%s\n", step, op, ename(err));
	else
		out("@@STEP %d %s ret=%ld\n", step, op, ret);
}

/* one load or store of one byte in this process; a SIGBUS ends it */
static void access_here(unsigned long off, int is_store)
{
	in_access = 1;
	if (sigsetjmp(jb, 1) == 0) {
		volatile unsigned char *a = (volatile unsigned char *)base + off;
		unsigned char v;
		if (is_store) {
			*a = pattern_byte(off);
			v = *a;
		} else {
			v = *a;
		}
		in_access = 0;
		out("@@DATA %d %s\n", step, classify(&v, off, 1));
	}
	in_access = 0;
}

/* one load or store in a child forked for it; the child prints what happened */
static void access_child(unsigned long off, int is_store)
{
	pid_t pid = fork();
	if (pid == 0) {
		access_here(off, is_store);
		print_sigs();
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
}

/* key=value lookup in a step line */
static long arg(const char *line, const char *key, long dflt)
{
	char pat[64];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	if (!p)
		return dflt;
	return strtol(p + strlen(pat), NULL, 0);
}

static unsigned long pos_of(const char *line)
{
	return arg(line, "hugepage", 0) * hps + arg(line, "subpage", 0) * PS + arg(line, "byte", 0);
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* the steps a peer may do as well as the scenario process; 0 if op is not one of them */
static int common_step(const char *op, const char *line)
{
	if (!strcmp(op, "mmap")) {
		unsigned long len = arg(line, "hugepages", 1) * hps;
		off_t off = arg(line, "pgoff", 0) * hps;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
		if (p == MAP_FAILED) {
			result(op, -1, errno);
		} else {
			add_map(p, len);
			out("@@MAP %d %#lx %#lx%s\n", step, (unsigned long)p, len,
			    is_peer ? " who=peer" : "");
			result(op, 0, 0);
		}
	} else if (!strcmp(op, "munmap")) {
		long ret = munmap(base, maplen);
		result(op, ret, errno);
		if (ret == 0)
			drop_map();
	} else if (!strcmp(op, "load") || !strcmp(op, "store")) {
		result(op, 0, 0);
		if (is_peer)
			access_here(pos_of(line), op[0] == 's');
		else
			access_child(pos_of(line), op[0] == 's');
	} else if (!strcmp(op, "prctl_mce_kill")) {
		long ret = prctl(PR_MCE_KILL, PR_MCE_KILL_SET, arg(line, "policy", 1), 0, 0);
		result(op, ret, errno);
	} else {
		return 0;
	}
	return 1;
}

static int read_line(int f, char *buf, int size)
{
	int n = 0;
	while (n < size - 1) {
		char c;
		ssize_t r = read(f, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = 0;
	return n;
}

/* the peer: "<step> <step line>" commands; "sigs" only reports the signals */
static void peer_loop(int cmd, int ack)
{
	char line[512];
	is_peer = 1;
	nsig = 0;
	while (read_line(cmd, line, sizeof(line)) >= 0) {
		char *rest;
		step = strtol(line, &rest, 10);
		char op[64] = "";
		sscanf(rest, "%63s", op);
		int quit = !strcmp(op, "exit");
		if (quit)
			result(op, 0, 0);
		else if (strcmp(op, "sigs") && !common_step(op, rest))
			out("@@STEP %d %s err=UNKNOWN_OP\n", step, op);
		print_sigs();
		ssize_t w = write(ack, "k", 1);
		(void)w;
		if (quit)
			_exit(0);
	}
	_exit(0);
}

static void to_peer(const char *line)
{
	char buf[600], c;
	int n = snprintf(buf, sizeof(buf), "%d %s\n", step, line);
	if (write(peer_cmd, buf, n) != n)
		return;
	while (read(peer_ack, &c, 1) < 0 && errno == EINTR)
		;
}

static void peer_fork(void)
{
	int cmd[2], ack[2];
	if (pipe(cmd) || pipe(ack)) {
		result("fork", -1, errno);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		peer_loop(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	if (pid < 0) {
		result("fork", -1, errno);
		close(cmd[1]);
		close(ack[0]);
		return;
	}
	peer = pid;
	peer_cmd = cmd[1];
	peer_ack = ack[0];
	result("fork", 0, 0);
}

static void peer_exit(void)
{
	to_peer("exit");
	waitpid(peer, NULL, 0);
	close(peer_cmd);
	close(peer_ack);
	peer = 0;
}

/* a child maps every free hugepage of one size and stores to each; it prints the count */
static void touch_free(long kb)
{
	char path[128];
	long n = 0;
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%ldkB/free_hugepages", kb);
	read_long(path, &n);
	pid_t pid = fork();
	if (pid == 0) {
		unsigned long size = kb * 1024UL;
		unsigned flags = MFD_HUGETLB | ((unsigned)__builtin_ctzl(size) << 26);
		int f = memfd_create("touch", flags);
		if (f < 0 || ftruncate(f, n * size) < 0) {
			result("touch_free", -1, errno);
			_exit(1);
		}
		volatile long done = 0;
		if (n > 0) {
			char *p = mmap(NULL, n * size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
			if (p == MAP_FAILED) {
				result("touch_free", -1, errno);
				_exit(1);
			}
			add_map(p, n * size);
			in_access = 1;
			if (sigsetjmp(jb, 1) == 0)
				for (; done < n; done = done + 1)
					p[done * size] = 1;
			in_access = 0;
		}
		result("touch_free", done, 0);
		print_sigs();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* SRAO: the host raises a memory-scrub machine check; wait for memory_failure()'s verdict */
static void mce_srao(unsigned long paddr)
{
	out("@@MCE-INJECT %d srao cpu=0 addr=%#lx\n", step, paddr);
	int ok = wait_kmsg("recovery action", MCE_WAIT_MS);
	result("mce_srao", ok ? 0 : -1, ETIMEDOUT);
}

/* SRAR: a child on CPU 1 loads from the page in a loop while the host raises a data-load
 * machine check on CPU 1; the kernel's kill_me_maybe() sends it SIGBUS */
static void mce_srar(unsigned long off, unsigned long paddr)
{
	int ready[2];
	if (pipe(ready)) {
		result("mce_srar", -1, errno);
		return;
	}
	/* a kernel without ACPI brings up one CPU only: then both share CPU 0 */
	int cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	pin_to_cpu(0);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		pin_to_cpu(cpu);
		nsig = 0;
		in_access = 1;
		if (sigsetjmp(jb, 1) == 0) {
			volatile unsigned char *a = (volatile unsigned char *)base + off;
			unsigned char v = *a; /* fault it in before the host is told */
			ssize_t w = write(ready[1], &v, 1);
			(void)w;
			for (;;)
				v = *a;
		}
		in_access = 0;
		print_sigs();
		_exit(0);
	}
	close(ready[1]);
	char c;
	while (read(ready[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	sleep_ms(200); /* let it run in user mode alone on CPU 1 */
	out("@@MCE-INJECT %d srar cpu=%d addr=%#lx\n", step, cpu, paddr);
	long t = 0;
	int st;
	while (waitpid(pid, &st, WNOHANG) == 0 && t < MCE_WAIT_MS) {
		sleep_ms(20);
		t += 20;
	}
	if (t >= MCE_WAIT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		result("mce_srar", -1, ETIMEDOUT);
	} else {
		result("mce_srar", 0, 0);
	}
}

/* the series' selftest: /hugetlb-mfr <2M|1G> <pages> in a child; its output as @@OUT lines,
 * the step's ret its exit status */
static void selftest(long pages)
{
	int p[2];
	if (pipe(p)) {
		result("selftest", -1, errno);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char n[16];
		snprintf(n, sizeof(n), "%ld", pages);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setenv("PATH", "/bin", 1);
		execl("/hugetlb-mfr", "hugetlb-mfr", hps >= (1UL << 30) ? "1G" : "2M", n, NULL);
		_exit(127);
	}
	close(p[1]);
	char line[512];
	while (read_line(p[0], line, sizeof(line)) >= 0)
		out("@@OUT %d %s\n", step, line);
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	result("selftest", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0);
}

/* Is a raw page of the scenario's memfd (pfn as recorded by the last fill) handed to a new
 * process? A child maps ANON_FIND_MB of anonymous memory, touches every page and looks each
 * up in /proc/self/pagemap: ret 1 and the byte loaded from it (@@DATA) if it got that pfn. */
static void anon_find(unsigned long pfn)
{
	pid_t pid = fork();
	if (pid == 0) {
		unsigned long len = ANON_FIND_MB << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			result("anon_find", -1, errno);
			_exit(0);
		}
		add_map(p, len);
		for (unsigned long off = 0; off < len; off += PS)
			p[off] = 1;
		int f = open("/proc/self/pagemap", O_RDONLY);
		static uint64_t e[512];
		for (unsigned long off = 0; f >= 0 && off < len; off += 512 * PS) {
			if (pread(f, e, sizeof(e), ((uintptr_t)(p + off) / PS) * 8) != sizeof(e))
				break;
			for (int i = 0; i < 512; i++)
				if ((e[i] >> 63) && (e[i] & ((1ULL << 55) - 1)) == pfn) {
					result("anon_find", 1, 0);
					access_here(off + i * PS, 0);
					print_sigs();
					_exit(0);
				}
		}
		result("anon_find", 0, 0);
		print_sigs();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* MADV_HWPOISON of one ordinary (anonymous, not hugetlb) page, in a child */
static void anon_hwpoison(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *p = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			result("anon_hwpoison", -1, errno);
			_exit(0);
		}
		add_map(p, PS);
		p[0] = 1;
		long ret = madvise(p, PS, MADV_HWPOISON);
		result("anon_hwpoison", ret, errno);
		print_sigs();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static void run_step(char *line)
{
	char op[64] = "";
	sscanf(line, "%63s", op);
	long ret = 0;
	int err = 0;
	long h = arg(line, "hugepage", 0), sub = arg(line, "subpage", 0);
	errno = 0;
	nsig = 0;
	if (arg(line, "peer", 0)) {
		to_peer(line);
	} else if (common_step(op, line)) {
	} else if (!strcmp(op, "memfd_create")) {
		ret = memfd_create("conformance", (unsigned)arg(line, "flags", MFD_HUGETLB));
		err = errno;
		if (ret >= 0) {
			if (fd >= 0) {
				close(ret);
				ret = -1;
				err = EBUSY;
			} else {
				fd = ret;
			}
		}
		result(op, ret, err);
	} else if (!strcmp(op, "memfd_probe")) {
		ret = memfd_create("probe", (unsigned)arg(line, "flags", MFD_HUGETLB));
		err = errno;
		if (ret >= 0)
			close(ret);
		result(op, ret, err);
	} else if (!strcmp(op, "ftruncate")) {
		ret = ftruncate(fd, arg(line, "hugepages", 1) * hps);
		result(op, ret, errno);
	} else if (!strcmp(op, "fill")) {
		for (unsigned long off = 0; off < maplen; off += stride)
			*(volatile uint64_t *)(base + off) = MAGIC ^ off;
		for (unsigned long i = 0; i < maplen / hps && i < MAXHP; i++) {
			heads[i] = pagemap_pfn(base + i * hps);
			out("@@HEAD %lu %#lx\n", i, heads[i]);
		}
		result(op, 0, 0);
	} else if (!strcmp(op, "pagemap")) {
		result(op, (long)pagemap_pfn(base + h * hps + sub * PS), 0);
	} else if (!strcmp(op, "madvise_hwpoison") || !strcmp(op, "madvise_soft_offline")) {
		int advice = op[8] == 'h' ? MADV_HWPOISON : MADV_SOFT_OFFLINE;
		ret = madvise(base + h * hps + sub * PS, PS, advice);
		err = errno;
		result(op, ret, err);
	} else if (!strcmp(op, "corrupt_pfn") || !strcmp(op, "unpoison_pfn")) {
		char s[64];
		snprintf(s, sizeof(s), "%#lx\n", heads[h] + sub);
		const char *path = op[0] == 'c' ? "/sys/kernel/debug/hwpoison/corrupt-pfn"
						: "/sys/kernel/debug/hwpoison/unpoison-pfn";
		int r = write_str(path, s);
		result(op, r < 0 ? -1 : 0, -r);
	} else if (!strcmp(op, "mce_srao")) {
		mce_srao((heads[h] + sub) * PS);
	} else if (!strcmp(op, "mce_srar")) {
		mce_srar(pos_of(line), (heads[h] + sub) * PS);
	} else if (!strcmp(op, "pread") || !strcmp(op, "read")) {
		unsigned long off = arg(line, "offset", 0), len = arg(line, "length", PS);
		unsigned char *buf = malloc(len);
		ssize_t n;
		if (op[0] == 'r') {
			off = lseek(fd, 0, SEEK_CUR);
			n = read(fd, buf, len);
		} else {
			n = pread(fd, buf, len, off);
		}
		err = errno;
		result(op, n, err);
		if (n > 0)
			out("@@DATA %d %s\n", step, classify(buf, off, n));
		free(buf);
	} else if (!strcmp(op, "pwrite")) {
		unsigned long off = arg(line, "offset", 0), len = arg(line, "length", 8);
		unsigned char *buf = malloc(len);
		for (unsigned long i = 0; i < len; i++)
			buf[i] = pattern_byte(off + i);
		ret = pwrite(fd, buf, len, off);
		result(op, ret, errno);
		free(buf);
	} else if (!strcmp(op, "lseek")) {
		ret = lseek(fd, arg(line, "offset", 0), (int)arg(line, "whence", SEEK_SET));
		result(op, ret, errno);
	} else if (!strcmp(op, "punch_hole")) {
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, h * hps, hps);
		result(op, ret, errno);
	} else if (!strcmp(op, "close")) {
		ret = close(fd);
		err = errno;
		fd = -1;
		result(op, ret, err);
	} else if (!strcmp(op, "fork")) {
		peer_fork();
	} else if (!strcmp(op, "exit")) {
		peer_exit();
	} else if (!strcmp(op, "touch_free")) {
		touch_free(arg(line, "kb", 2048));
	} else if (!strcmp(op, "nr_hugepages")) {
		char path[128], s[32];
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%ldkB/nr_hugepages",
			 arg(line, "kb", 2048));
		snprintf(s, sizeof(s), "%ld\n", arg(line, "count", 0));
		int r = write_str(path, s);
		result(op, r < 0 ? -1 : 0, -r);
	} else if (!strcmp(op, "selftest")) {
		selftest(arg(line, "pages", 1));
	} else if (!strcmp(op, "anon_find")) {
		anon_find(heads[h] + sub);
	} else if (!strcmp(op, "anon_hwpoison")) {
		anon_hwpoison();
	} else if (!strcmp(op, "counters")) {
		result(op, 0, 0);
	} else {
		out("@@STEP %d %s err=UNKNOWN_OP\n", step, op);
	}
	print_sigs();
	if (peer)
		to_peer("sigs");
	drain_kmsg(NULL);
	counters();
}

static void run_scenario(char **lines, int n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	step = -1;
	drain_kmsg(NULL);
	counters();
	for (step = 0; step < n; step++)
		run_step(lines[step]);
	if (peer)
		peer_exit();
}

static void setup(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* a stock kernel has hwpoison-inject as a module; a kernel built here has it built in */
	int m = open("/hwpoison-inject.ko", O_RDONLY | O_CLOEXEC);
	if (m >= 0 && syscall(SYS_finit_module, m, "", 0) != 0)
		out("@@WARN finit_module(hwpoison-inject): %s\n", ename(errno));
	if (m >= 0)
		close(m);
	klogctl(8, NULL, 1); /* console loglevel 1: the kernel log comes through /dev/kmsg only */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	lseek(kmsg, 0, SEEK_END);
}

int main(void)
{
	if (getpid() != 1 && !getenv("HWP_ORACLE_I_AM_A_GUEST")) {
		fprintf(stderr, "probe: refusing to run: not PID 1 of a guest "
				"(it injects memory errors into the machine it runs on)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (getpid() == 1)
		setup();
	struct utsname u;
	uname(&u);
	out("\n@@BEGIN %s %s\n", u.release, u.version);

	static char text[1 << 16];
	int f = open("/scenarios.txt", O_RDONLY);
	ssize_t tn = f >= 0 ? read(f, text, sizeof(text) - 1) : -1;
	if (tn < 0)
		tn = 0;
	text[tn] = 0;

	static char *lines[1024];
	int nl = 0;
	char name[64] = "";
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save);; l = strtok_r(NULL, "\n", &save)) {
		if (!l || !strncmp(l, "scenario ", 9)) {
			if (name[0]) {
				out("@@SCENARIO %s\n", name);
				pid_t pid = fork();
				if (pid == 0) {
					run_scenario(lines, nl);
					_exit(0);
				}
				int st = 0;
				waitpid(pid, &st, 0);
				step = 9999;
				drain_kmsg(NULL);
				out("@@END %s status=%d\n", name, st);
			}
			if (!l)
				break;
			snprintf(name, sizeof(name), "%s", l + 9);
			hps = 2UL << 20;
			stride = 8;
			nl = 0;
			continue;
		}
		if (!strncmp(l, "hugepagesize ", 13)) {
			hps = strtoul(l + 13, NULL, 0);
			stride = hps >= (1UL << 30) ? 64 : 8;
			continue;
		}
		if (nl < 1024 && l[0] != '#')
			lines[nl++] = l;
	}
	out("@@DONE\n");
	sync();
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	return 0;
}
