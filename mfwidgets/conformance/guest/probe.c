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
 *   @@SIG <n> code=<si_code> off=<si_addr - mapping base> lsb=<si_addr_lsb>
 *   @@DATA <n> pattern|zero|other
 *   @@HEAD <hugepage> <pfn>     head pfns of the mapping, after each fill
 *   @@MAP <n> <base>
 *   @@KMSG <n> <kernel log text>
 *   @@END <name>
 *   @@DONE
 *
 * Only the stock kernel surface is used (MFD_MF_KEEP_UE_MAPPED appears only as a flag probed by
 * memfd_create, which a scenario may ask for). It refuses to run unless it is PID 1 or the
 * environment has HWP_ORACLE_I_AM_A_GUEST set: it injects memory errors into the machine it
 * runs on. Build: gcc -O1 -Wall -static -o init probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_KEEP_SIZE 0x01
#endif

#define PS 4096UL
#define MAGIC 0x5A5A000000000000ULL
#define MAXHP 64
#define MAXSIG 16

static unsigned long hps = 2UL << 20; /* hugepage size of the scenario */
static int lsb_shift = 21;
static int fd = -1;
static char *base;
static unsigned long maplen;
static unsigned long heads[MAXHP];
static int kmsg = -1;
static int step;

static volatile int nsig;
static siginfo_t sigs[MAXSIG];
static sigjmp_buf jb;
static volatile int in_child;

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

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (nsig < MAXSIG)
		sigs[nsig] = *si;
	nsig = nsig + 1;
	if (in_child)
		siglongjmp(jb, 1);
	if (nsig > MAXSIG)
		_exit(99); /* a fault the main process cannot survive: stop */
}

static void print_sigs(void)
{
	for (int i = 0; i < nsig && i < MAXSIG; i++) {
		siginfo_t *si = &sigs[i];
		long off = (long)((char *)si->si_addr - base);
		out("@@SIG %d code=%d off=%#lx lsb=%d\n", step, si->si_code, off,
		    (int)si->si_addr_lsb);
	}
	nsig = 0;
}

static void drain_kmsg(void)
{
	char buf[8192];
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
		out("@@KMSG %d %s\n", step, text);
	}
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

static uint8_t pattern_byte(unsigned long off)
{
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

/* one load or store of one byte in a forked child; the child prints what happened */
static void access_child(unsigned long off, int is_store)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		in_child = 1;
		nsig = 0;
		if (sigsetjmp(jb, 1) == 0) {
			volatile unsigned char *a = (volatile unsigned char *)base + off;
			unsigned char v;
			if (is_store) {
				*a = pattern_byte(off);
				v = *a;
			} else {
				v = *a;
			}
			out("@@DATA %d %s\n", step, classify(&v, off, 1));
			_exit(0);
		}
		in_child = 0;
		print_sigs();
		_exit(1);
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

static void result(const char *op, long ret, int err)
{
	if (ret < 0)
		out("@@STEP %d %s err=%s\n", step, op, ename(err));
	else
		out("@@STEP %d %s ret=%ld\n", step, op, ret);
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
	if (!strcmp(op, "memfd_create")) {
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
	} else if (!strcmp(op, "ftruncate")) {
		ret = ftruncate(fd, arg(line, "hugepages", 1) * hps);
		result(op, ret, errno);
	} else if (!strcmp(op, "mmap")) {
		unsigned long len = arg(line, "hugepages", 1) * hps;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			result(op, -1, errno);
		} else {
			base = p;
			maplen = len;
			out("@@MAP %d %#lx\n", step, (unsigned long)base);
			result(op, 0, 0);
		}
	} else if (!strcmp(op, "fill")) {
		for (unsigned long off = 0; off < maplen; off += 8)
			*(volatile uint64_t *)(base + off) = MAGIC ^ off;
		for (unsigned long i = 0; i < maplen / hps && i < MAXHP; i++) {
			heads[i] = pagemap_pfn(base + i * hps);
			out("@@HEAD %lu %#lx\n", i, heads[i]);
		}
		result(op, 0, 0);
	} else if (!strcmp(op, "madvise_hwpoison")) {
		ret = madvise(base + h * hps + sub * PS, PS, MADV_HWPOISON);
		err = errno;
		result(op, ret, err);
	} else if (!strcmp(op, "corrupt_pfn") || !strcmp(op, "unpoison_pfn")) {
		char s[64];
		snprintf(s, sizeof(s), "%#lx\n", heads[h] + sub);
		const char *path = op[0] == 'c' ? "/sys/kernel/debug/hwpoison/corrupt-pfn"
						: "/sys/kernel/debug/hwpoison/unpoison-pfn";
		int r = write_str(path, s);
		result(op, r < 0 ? -1 : 0, -r);
	} else if (!strcmp(op, "load") || !strcmp(op, "store")) {
		result(op, 0, 0);
		access_child(h * hps + sub * PS + arg(line, "byte", 0), op[0] == 's');
	} else if (!strcmp(op, "pread")) {
		unsigned long off = arg(line, "offset", 0), len = arg(line, "length", PS);
		unsigned char *buf = malloc(len);
		ssize_t n = pread(fd, buf, len, off);
		err = errno;
		result(op, n, err);
		if (n > 0)
			out("@@DATA %d %s\n", step, classify(buf, off, n));
		free(buf);
	} else if (!strcmp(op, "punch_hole")) {
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, h * hps, hps);
		result(op, ret, errno);
	} else if (!strcmp(op, "munmap")) {
		ret = munmap(base, maplen);
		result(op, ret, errno);
	} else if (!strcmp(op, "close")) {
		ret = close(fd);
		err = errno;
		fd = -1;
		result(op, ret, err);
	} else if (!strcmp(op, "counters")) {
		result(op, 0, 0);
	} else {
		out("@@STEP %d %s err=UNKNOWN_OP\n", step, op);
	}
	print_sigs();
	drain_kmsg();
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
	drain_kmsg();
	counters();
	for (step = 0; step < n; step++)
		run_step(lines[step]);
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
	int m = open("/hwpoison-inject.ko", O_RDONLY | O_CLOEXEC);
	if (m < 0 || syscall(SYS_finit_module, m, "", 0) != 0)
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
				drain_kmsg();
				out("@@END %s status=%d\n", name, st);
			}
			if (!l)
				break;
			snprintf(name, sizeof(name), "%s", l + 9);
			hps = 2UL << 20;
			lsb_shift = 21;
			nl = 0;
			continue;
		}
		if (!strncmp(l, "hugepagesize ", 13)) {
			hps = strtoul(l + 13, NULL, 0);
			continue;
		}
		if (nl < 1024 && l[0] != '#')
			lines[nl++] = l;
	}
	(void)lsb_shift;
	out("@@DONE\n");
	sync();
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	return 0;
}
