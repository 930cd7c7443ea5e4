/*
 * main.c: the `rhizoflow` command: dispatches to a subcommand (demo.c,
 * bench.c, ...). Exit status: 0 ok, 1 runtime failure, 2 usage error (the
 * message names the bad argument); `bench bfs --check-ref` adds 3 for a
 * result that differs from the reference.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

#ifndef RF_VERSION_STRING
#define RF_VERSION_STRING "unknown"
#endif

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"demo", rf_cli_demo, "live HyperViews of a small blog as deltas arrive (demo bfs: BFS under churn)"},
    {"bench", rf_cli_bench, "run a benchmark workload (bench bfs) and print JSON figures"},
    {"ingest", rf_cli_ingest, "append deltas (JSON Lines) to a durable store"},
    {"store", rf_cli_store, "verify a store (store check) or print its deltas (store dump)"},
    {"schema", rf_cli_schema, "define or change HyperSchemas (schema add FILE.json), stored as deltas"},
    {"view", rf_cli_view, "print an object's HyperView or View (--resolve), or every object's (--all)"},
    {"watch", rf_cli_watch, "follow a schema's HyperViews as deltas are ingested"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow <command> [options]\n"
          "       rhizoflow --help | --version\n"
          "\n"
          "rhizoflow is an incremental differential-dataflow runtime.\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "`rhizoflow <command> --help` describes a command's options. The\n"
          "commands that run a dataflow (demo, bench) take --workers W: the\n"
          "worker threads that run it, 1 to 64 (default 1).\n"
          "exit status: 0 ok, 1 runtime failure, 2 usage error\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("rhizoflow %s\n", RF_VERSION_STRING);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
  fprintf(stderr, "rhizoflow: unknown command '%s' (try rhizoflow --help)\n", cmd);
  return 2;
}
