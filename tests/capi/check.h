/* Tiny test helpers for the C ABI tests (plain C99). */
#ifndef ARTISTRY_CAPI_TEST_CHECK_H
#define ARTISTRY_CAPI_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artistry.h"

static int check_failures = 0;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, art_last_error_message());                                         \
            ++check_failures;                                                                 \
        }                                                                                     \
    } while (0)

/* A call that must fail with `status` and leave a non-empty message naming `word`. */
#define CHECK_FAILS(call, status, word)                                                           \
    do {                                                                                          \
        art_status got_ = (call);                                                                 \
        if (got_ != (status) || art_last_error_status() != (status) ||                            \
            strstr(art_last_error_message(), (word)) == NULL) {                                   \
            fprintf(stderr, "%s:%d: %s: got %d '%s', want %d mentioning '%s'\n", __FILE__,        \
                    __LINE__, #call, (int)got_, art_last_error_message(), (int)(status), (word)); \
            ++check_failures;                                                                     \
        }                                                                                         \
    } while (0)

#define CHECK_OK(call)                                                                          \
    do {                                                                                        \
        art_status got_ = (call);                                                               \
        if (got_ != ART_OK || art_last_error_message()[0] != '\0') {                            \
            fprintf(stderr, "%s:%d: %s: status %d: %s\n", __FILE__, __LINE__, #call, (int)got_, \
                    art_last_error_message());                                                  \
            ++check_failures;                                                                   \
        }                                                                                       \
    } while (0)

static int check_report(const char* name) {
    if (check_failures == 0) {
        printf("%s: ok\n", name);
        return 0;
    }
    fprintf(stderr, "%s: %d failures\n", name, check_failures);
    return 1;
}

#endif
