/* bindbench: the raw bind ceiling client (filled in later). */
#include <stdio.h>

#include "pkg/util/log.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    CS_ERROR_S("not implemented", "cosched is not built yet");
    return 1;
}
