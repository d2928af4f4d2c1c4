/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/node-pool.h: blocks of both sizes handed out distinct, aligned and
 * writable over several chunks; given back in a random order and handed out
 * again; the counts of blocks in use and of mapped chunks; huge pages asked
 * from the second chunk of a size on (traced); empty chunks returned to the
 * kernel but one. Under AddressSanitizer and valgrind the pool is g_malloc
 * (counted alike, no chunks): the chunk checks are skipped there.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"
#include "util/node-pool.h"
#include "vfio-iommufd/trace.h"

#define CHUNK ((size_t)2 << 20)

#define POOL_IS_MALLOC vfi_node_pool_uses_malloc()

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    return z ^ (z >> 27);
}

/* Fill @n blocks of @size, each stamped with its index over its whole
 * length; check alignment and that no stamp was overwritten. */
static void **take_blocks(size_t size, unsigned n)
{
    void **b = g_new(void *, n);

    for (unsigned i = 0; i < n; i++) {
        b[i] = vfi_node_pool_alloc(size);
        if (!POOL_IS_MALLOC) {
            assert_int_equal((uintptr_t)b[i] % size, 0);
        }
        memset(b[i], (int)(i & 0xff), size);
    }
    for (unsigned i = 0; i < n; i++) {
        const unsigned char *p = b[i];

        assert_int_equal(p[0], i & 0xff);
        assert_int_equal(p[size - 1], i & 0xff);
    }
    return b;
}

static void shuffle(void **b, unsigned n, uint64_t *rng)
{
    for (unsigned i = n - 1; i > 0; i--) {
        unsigned j = (unsigned)(rng_next(rng) % (i + 1));
        void *t = b[i];

        b[i] = b[j];
        b[j] = t;
    }
}

static void check_size(size_t size)
{
    unsigned per_chunk = (unsigned)(CHUNK / size) - 1, n = 2 * per_chunk + 7;
    size_t used0 = vfi_node_pool_in_use(size), mapped0 = vfi_node_pool_mapped(size);
    uint64_t rng = size;
    void **b = take_blocks(size, n);

    assert_int_equal(vfi_node_pool_in_use(size), used0 + (size_t)n * size);
    if (!POOL_IS_MALLOC) {
        /* 2 full chunks and a bit: at least 3 chunks, those before included */
        assert_true(vfi_node_pool_mapped(size) >= 3 * CHUNK);
        assert_true(vfi_node_pool_mapped(size) >= mapped0);
    }
    shuffle(b, n, &rng);
    for (unsigned i = 0; i < n / 2; i++) {
        vfi_node_pool_free(b[i], size);
    }
    /* the freed half handed out again, the kept half untouched */
    for (unsigned i = 0; i < n / 2; i++) {
        b[i] = vfi_node_pool_alloc(size);
        memset(b[i], 0x5a, size);
    }
    for (unsigned i = 0; i < n; i++) {
        vfi_node_pool_free(b[i], size);
    }
    vfi_node_pool_free(NULL, size);
    assert_int_equal(vfi_node_pool_in_use(size), used0);
    if (!POOL_IS_MALLOC && used0 == 0) {
        /* every chunk empty: one kept, the others returned */
        assert_int_equal(vfi_node_pool_mapped(size), CHUNK);
    }
    g_free(b);
}

static void test_leaf_blocks(void **state)
{
    (void)state;
    check_size(VFI_NODE_POOL_LEAF);
}

static void test_inner_blocks(void **state)
{
    (void)state;
    check_size(VFI_NODE_POOL_INNER);
}

/* The second chunk of a size asks for huge pages (on itself and the first). */
static void test_huge_pages_traced(void **state)
{
    g_autofree char *buf = NULL;
    size_t len = 0, size = VFI_NODE_POOL_INNER;
    unsigned n = (unsigned)(CHUNK / size) + 1;
    FILE *out;
    void **b;

    (void)state;
    if (POOL_IS_MALLOC) {
        skip();
    }
    out = open_memstream(&buf, &len);
    vfi_trace_set_output(out);
    assert_true(vfi_trace_enable("vfi_node_pool_*", true) > 0);
    b = take_blocks(size, n);
    for (unsigned i = 0; i < n; i++) {
        vfi_node_pool_free(b[i], size);
    }
    vfi_trace_enable("vfi_node_pool_*", false);
    vfi_trace_set_output(NULL);
    fclose(out);
    g_free(b);
    assert_non_null(strstr(buf, "vfi_node_pool_chunk blocks of 4096: 2 chunks, one mapped"));
    assert_non_null(strstr(buf, "vfi_node_pool_huge blocks of 4096: 1 chunks, huge pages advised 1"));
    assert_non_null(strstr(buf, "one unmapped"));
}

static gpointer churn(gpointer data)
{
    volatile gint *stop = data;

    while (!g_atomic_int_get(stop)) {
        vfi_node_pool_free(vfi_node_pool_alloc(VFI_NODE_POOL_LEAF), VFI_NODE_POOL_LEAF);
    }
    return NULL;
}

/* fork() while another thread takes and gives back blocks: the child's pool
 * is usable (no lock left held by the thread the child does not have). */
static void test_fork_while_busy(void **state)
{
    gint stop = 0;
    GThread *t;

    (void)state;
    if (POOL_IS_MALLOC) {
        /* valgrind would count the block the churning thread holds at the
         * fork as a leak of each child; the locks are the same either way */
        skip();
    }
    t = g_thread_new("churn", churn, &stop);
    for (int i = 0; i < 50; i++) {
        pid_t pid = fork();
        int status = 0;

        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(10);      /* a deadlocked child dies, and the test fails */
            vfi_node_pool_free(vfi_node_pool_alloc(VFI_NODE_POOL_LEAF), VFI_NODE_POOL_LEAF);
            _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    g_atomic_int_set(&stop, 1);
    g_thread_join(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_blocks),
        cmocka_unit_test(test_inner_blocks),
        cmocka_unit_test(test_huge_pages_traced),
        cmocka_unit_test(test_fork_while_busy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
