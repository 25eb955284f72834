// ipcbench's entry point.
#include "harness/cli/cli.h"

int main(int argc, char** argv) {
  return ipcb::cli_main(argc, argv);
}
