// Reference for bench/btf_parse.ts: libbpf's btf__parse + btf__find_by_name_kind.
// Build: cc -O2 -o btf_parse_c bench/btf_parse.c -lbpf
// Prints one JSON line: in-process time of parse+find and memory figures.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/kernel/btf/vmlinux";
	const char *name = argc > 2 ? argv[2] : "task_struct";
	long rss0 = status_kb("VmRSS");
	double t0 = now_ms();
	struct btf *btf = btf__parse(path, NULL);
	double t1;
	int id;

	if (!btf) {
		fprintf(stderr, "btf__parse failed\n");
		return 1;
	}
	t1 = now_ms();
	id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	double t2 = now_ms();

	long hwm = status_kb("VmHWM");

	/* For reference, after the measurement: a bare read(2) loop of the file. */
	double r0 = now_ms(), r1 = r0;
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		char *buf = malloc(st.st_size);
		size_t off = 0;
		ssize_t n;

		while (buf && off < (size_t)st.st_size &&
		       (n = read(fd, buf + off, st.st_size - off)) > 0)
			off += n;
		r1 = now_ms();
		free(buf);
	}
	if (fd >= 0)
		close(fd);

	printf("{\"parse_ms\":%.4f,\"find_ms\":%.4f,\"total_ms\":%.4f,\"id\":%d,"
	       "\"types\":%u,\"rss_before_kb\":%ld,\"hwm_kb\":%ld,\"read_ms\":%.4f}\n",
	       t1 - t0, t2 - t1, t2 - t0, id, btf__type_cnt(btf) - 1, rss0,
	       hwm, r1 - r0);
	btf__free(btf);
	return 0;
}
