/*
 * shmtool: the shared-memory experiments of the real-node e2e, as one static program that the
 * harness compiles into the node image (no libc in the image, so it links statically).
 *
 *   shmtool posix-put NAME TEXT   shm_open(NAME), size it, mmap it and write TEXT (NUL-terminated)
 *   shmtool posix-get NAME        shm_open(NAME) read-only, mmap it and print what it holds
 *   shmtool sysv-put KEY TEXT     shmget(KEY, IPC_CREAT), attach it and write TEXT
 *   shmtool sysv-get KEY          shmget(KEY) without IPC_CREAT, attach it and print what it holds
 *   shmtool anon MIB              allocate MIB MiB of private memory, touch every page, print
 *                                 "anon MIB MiB held" and wait for a signal (application memory)
 *   shmtool fill FILE MIB         write up to MIB MiB into FILE, 1 MiB at a time, print how much it
 *                                 wrote and why it stopped, and wait for a signal: a program that
 *                                 fills its shared memory and keeps working (or is OOM-killed)
 *   shmtool app ANON FILE MIB     an application: hold ANON MiB of its own memory, then fill FILE
 *                                 as `fill` does, in one process (the one the OOM killer picks)
 *
 * Every command prints one line that a test reads and exits 0, or prints "shmtool: ..." with the
 * errno text on stderr and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEGMENT_BYTES 4096

static int fail(const char *what, const char *name) {
  fprintf(stderr, "shmtool: %s %s: %s\n", what, name, strerror(errno));
  return 1;
}

static int posix_put(const char *name, const char *text) {
  int fd = shm_open(name, O_CREAT | O_RDWR, 0666);
  if (fd < 0) return fail("shm_open", name);
  if (ftruncate(fd, SEGMENT_BYTES) != 0) return fail("ftruncate", name);
  char *map = mmap(NULL, SEGMENT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return fail("mmap", name);
  snprintf(map, SEGMENT_BYTES, "%s", text);
  printf("posix-put %s: %s\n", name, map);
  return 0;
}

static int posix_get(const char *name) {
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd < 0) return fail("shm_open", name);
  char *map = mmap(NULL, SEGMENT_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return fail("mmap", name);
  printf("posix-get %s: %.*s\n", name, SEGMENT_BYTES, map);
  return 0;
}

static int sysv_put(const char *key, const char *text) {
  int id = shmget((key_t)strtol(key, NULL, 0), SEGMENT_BYTES, IPC_CREAT | 0666);
  if (id < 0) return fail("shmget", key);
  char *map = shmat(id, NULL, 0);
  if (map == (void *)-1) return fail("shmat", key);
  snprintf(map, SEGMENT_BYTES, "%s", text);
  printf("sysv-put %s (id %d): %s\n", key, id, map);
  return 0;
}

static int sysv_get(const char *key) {
  int id = shmget((key_t)strtol(key, NULL, 0), 0, 0);
  if (id < 0) return fail("shmget", key);
  char *map = shmat(id, NULL, SHM_RDONLY);
  if (map == (void *)-1) return fail("shmat", key);
  printf("sysv-get %s (id %d): %.*s\n", key, id, SEGMENT_BYTES, map);
  return 0;
}

static void stop(int signal) {
  (void)signal;
  _exit(0);
}

static void wait_for_signal(void) {
  fflush(stdout);
  signal(SIGTERM, stop);
  for (;;) pause();
}

static char *hold(const char *mib) {
  size_t bytes = (size_t)strtoul(mib, NULL, 10) << 20;
  char *memory = malloc(bytes);
  if (memory != NULL) memset(memory, 1, bytes); /* every page touched: charged to this container's memory cgroup */
  return memory;
}

static int anon(const char *mib) {
  if (hold(mib) == NULL) return fail("malloc", mib);
  printf("anon %s MiB held\n", mib);
  wait_for_signal();
  return 0;
}

static int fill(const char *file, const char *mib) {
  static char chunk[1 << 20];
  long want = strtol(mib, NULL, 10), written = 0;
  int fd = open(file, O_CREAT | O_TRUNC | O_WRONLY, 0666);
  if (fd < 0) return fail("open", file);
  memset(chunk, 1, sizeof chunk);
  const char *why = "done";
  while (written < want << 20) {
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n < 0) {
      why = strerror(errno);
      break;
    }
    written += n;
  }
  printf("fill %s: wrote %ld bytes, stopped: %s\n", file, written, why);
  wait_for_signal();
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "posix-put") == 0) return posix_put(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "posix-get") == 0) return posix_get(argv[2]);
  if (argc == 4 && strcmp(argv[1], "sysv-put") == 0) return sysv_put(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "sysv-get") == 0) return sysv_get(argv[2]);
  if (argc == 3 && strcmp(argv[1], "anon") == 0) return anon(argv[2]);
  if (argc == 4 && strcmp(argv[1], "fill") == 0) return fill(argv[2], argv[3]);
  if (argc == 5 && strcmp(argv[1], "app") == 0) {
    if (hold(argv[2]) == NULL) return fail("malloc", argv[2]);
    printf("app %s MiB held\n", argv[2]);
    return fill(argv[3], argv[4]);
  }
  fprintf(stderr, "usage: shmtool posix-put NAME TEXT | posix-get NAME | sysv-put KEY TEXT | sysv-get KEY | anon MIB | fill FILE MIB | app ANON FILE MIB\n");
  return 2;
}
