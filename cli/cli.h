/*
 * cli.h: the subcommands of the `rhizoflow` program. Each takes the
 * arguments after its name (argv[0] is the first of them) and returns the
 * process exit status: 0 ok, 1 runtime failure, 2 usage error.
 */
#ifndef RF_CLI_H
#define RF_CLI_H

int rf_cli_demo(int argc, char **argv);
int rf_cli_bench(int argc, char **argv);
int rf_cli_schema(int argc, char **argv);
int rf_cli_view(int argc, char **argv);
int rf_cli_watch(int argc, char **argv);
/* The BFS demo (`rhizoflow demo bfs`). */
int rf_cli_demo_bfs(int argc, char **argv);

#endif
