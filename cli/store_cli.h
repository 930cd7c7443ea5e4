/*
 * store_cli.h: the store's subcommands of the `rhizoflow` program
 * (store_cli.c): `ingest` and `store check|dump`. Same convention as cli.h:
 * each takes the arguments after its name and returns the exit status
 * (0 ok, 1 failure, 2 usage error).
 */
#ifndef RF_CLI_STORE_CLI_H
#define RF_CLI_STORE_CLI_H

int rf_cli_ingest(int argc, char **argv);
int rf_cli_store(int argc, char **argv);

#endif
