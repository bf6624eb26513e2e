/* The child every supervisor runs in benchmarks/supervisor_bench.py.
 *   bench_child announce FIFO   write "<pid> <CLOCK_MONOTONIC ns>\n" to FIFO at start, then sleep
 *   bench_child stamp FIFO      the same, then exit 0
 *   bench_child flood N         write N lines "line %07d\n" to stdout as fast as possible, then sleep
 *   bench_child floodw N        the same lines with one write(2) per line (a line-buffered logger)
 *   bench_child idle            sleep
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int stamp = argc >= 3 && strcmp(argv[1], "stamp") == 0;
    if (argc >= 3 && (stamp || strcmp(argv[1], "announce") == 0)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%d %lld\n", (int)getpid(),
                         (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        int fd = open(argv[2], O_WRONLY);
        if (fd >= 0) { (void)!write(fd, buf, n); close(fd); }
        if (stamp) return 0;
    } else if (argc >= 3 && strcmp(argv[1], "floodw") == 0) {
        long total = atol(argv[2]);
        char line[32];
        for (long i = 0; i < total; i++) {
            int n = snprintf(line, sizeof line, "line %07ld\n", i);
            (void)!write(1, line, (size_t)n);
        }
    } else if (argc >= 3 && strcmp(argv[1], "flood") == 0) {
        long total = atol(argv[2]);
        static char out[1 << 16];
        size_t used = 0;
        for (long i = 0; i < total; i++) {
            if (used + 32 > sizeof out) { (void)!write(1, out, used); used = 0; }
            used += (size_t)snprintf(out + used, 32, "line %07ld\n", i);
        }
        if (used) (void)!write(1, out, used);
    }
    for (;;) pause();
}
