//go:build cudaemu

// The scheduler of the CPU model: a launch runs the grid's blocks on a few
// OS threads; each block's threads are fibers that run one at a time and
// switch only at __syncthreads and warp collectives. See cuda_emu.h for
// what the model checks.

#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emu.h"
#include "emu.h"
#include "registry.h"

// clusterd_emu_switch saves the callee-saved registers and the stack
// pointer of the running context in *save and resumes the context whose
// stack pointer is to (System V x86-64 ABI).
extern "C" void clusterd_emu_switch(void** save, void* to);
asm(R"(
    .text
    .globl clusterd_emu_switch
    .type clusterd_emu_switch, @function
clusterd_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size clusterd_emu_switch, .-clusterd_emu_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");

namespace emu {

namespace {

constexpr size_t kStack = 64 << 10;  // per CUDA thread; the kernels keep small frames
constexpr size_t kPage = 4096;

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}

}  // namespace

void register_kernel(const Kernel& k) { registry()[k.name] = k; }

struct Warp {
    int arrived;
    uint64_t gen;
    Site site;
    unsigned mask;
    unsigned present;  // lanes the block has (the last warp may be partial)
    uint64_t slots[2][32];
};

struct Block {
    uint3 idx;
    dim3 dim, grid;
    int nthreads, alive;
    Thread* threads;
    // The block barrier.
    int arrived;
    uint64_t gen;
    Site site;
    std::vector<Warp> warps;
    uint64_t events;  // arrivals and exits: a scheduling round without any is a deadlock
    std::string error;
    void* sched_sp;
    const Kernel* kernel;
    const uint64_t* args;
};

thread_local Block* current_block;
thread_local Thread* current_thread;

const uint3& block_idx() { return current_block->idx; }
const dim3& block_dim() { return current_block->dim; }
const dim3& grid_dim() { return current_block->grid; }
int lane_id() { return current_thread->linear & 31; }

namespace {

void yield() {
    Thread* t = current_thread;
    clusterd_emu_switch(&t->sp, current_block->sched_sp);
}

// wait_for yields until *gen differs from g; the scheduler does not resume
// the fiber before then.
void wait_for(const uint64_t* gen, uint64_t g) {
    Thread* t = current_thread;
    t->wait_gen = gen;
    t->wait_val = g;
    while (*gen == g) yield();
    t->wait_gen = nullptr;
}

std::string where() {
    const Block& b = *current_block;
    const Thread& t = *current_thread;
    char s[160];
    snprintf(s, sizeof s, "%s, block (%u,%u,%u), thread (%u,%u,%u)", b.kernel->name, b.idx.x, b.idx.y, b.idx.z,
             t.idx.x, t.idx.y, t.idx.z);
    return s;
}

// abandon leaves the fiber for good: the scheduler resumes no fiber that
// is done, and stops the block at a failure.
[[noreturn]] void abandon() {
    for (;;) yield();
}

void fiber_entry() {
    Block& b = *current_block;
    b.kernel->invoke(b.kernel->fn, b.args);
    Thread& t = *current_thread;
    t.done = true;
    b.alive--;
    b.events++;
    // Exited threads no longer hold back the block barrier, as exited
    // warps do not on the hardware.
    if (b.arrived > 0 && b.arrived == b.alive) {
        b.arrived = 0;
        b.gen++;
    }
    abandon();
}

// init_stack prepares a fiber stack so that clusterd_emu_switch to it pops
// six zero registers and returns into fiber_entry with the stack aligned as
// after a call.
void* init_stack(char* base, size_t size) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(base) + size) & ~uintptr_t(15);
    uint64_t* sp = reinterpret_cast<uint64_t*>(top);
    *--sp = 0;  // fiber_entry's return address: it never returns
    *--sp = reinterpret_cast<uint64_t>(&fiber_entry);
    for (int i = 0; i < 6; ++i) *--sp = 0;
    return sp;
}

// Stacks is one worker's fiber stacks, each kStack bytes above a
// PROT_NONE guard page, kept for later launches.
struct Stacks {
    char* base = nullptr;
    size_t count = 0;

    bool ensure(size_t n) {
        if (n <= count) return true;
        release();
        const size_t each = kStack + kPage;
        void* p = mmap(nullptr, n * each, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return false;
        base = static_cast<char*>(p);
        count = n;
        for (size_t i = 0; i < n; ++i) mprotect(base + i * each, kPage, PROT_NONE);
        return true;
    }
    char* stack(size_t i) const { return base + i * (kStack + kPage) + kPage; }
    void release() {
        if (base != nullptr) munmap(base, count * (kStack + kPage));
        base = nullptr;
        count = 0;
    }
};

std::mutex pool_mu;
std::vector<Stacks> pool;

Stacks take_stacks() {
    std::lock_guard<std::mutex> g(pool_mu);
    if (pool.empty()) return Stacks{};
    Stacks s = pool.back();
    pool.pop_back();
    return s;
}

void return_stacks(Stacks s) {
    std::lock_guard<std::mutex> g(pool_mu);
    pool.push_back(s);
}

// run_block runs one block to completion or to its first error.
void run_block(Block& b, const Stacks& stacks, bool descending) {
    const int n = b.nthreads;
    for (int i = 0; i < n; ++i) {
        Thread& t = b.threads[i];
        t.linear = i;
        t.idx.x = i % b.dim.x;
        t.idx.y = (i / b.dim.x) % b.dim.y;
        t.idx.z = i / (b.dim.x * b.dim.y);
        t.parity = 0;
        t.done = false;
        t.wait_gen = nullptr;
        t.sp = init_stack(stacks.stack(i), kStack);
    }
    b.alive = n;
    b.arrived = 0;
    b.gen = 0;
    b.site = Site{"", 0};
    for (size_t w = 0; w < b.warps.size(); ++w) {
        Warp& wp = b.warps[w];
        wp.arrived = 0;
        wp.gen = 0;
        wp.site = Site{"", 0};
        wp.mask = 0;
        const int lanes = std::min(32, n - int(w) * 32);
        wp.present = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    }
    b.events = 0;
    current_block = &b;
    // Warp-major order: one warp runs as far as it can (until all its lanes
    // wait at a block barrier or have exited) before the next starts, so
    // warps drift apart as far as a GPU may let them, and code that lets
    // one warp overwrite what another still reads, with no barrier between,
    // computes garbage here. Within a warp, lanes take turns between
    // collectives, which exposes lanes reading what other lanes write
    // without a __syncwarp.
    const int nwarps = int(b.warps.size());
    for (;;) {
        const uint64_t before = b.events;
        bool any = false;
        for (int wq = 0; wq < nwarps; ++wq) {
            const int w = descending ? nwarps - 1 - wq : wq;
            const int lanes = std::min(32, n - w * 32);
            for (bool ran = true; ran;) {
                ran = false;
                for (int lq = 0; lq < lanes; ++lq) {
                    Thread& t = b.threads[w * 32 + (descending ? lanes - 1 - lq : lq)];
                    if (t.done) continue;
                    any = true;
                    if (t.wait_gen != nullptr && *t.wait_gen == t.wait_val) continue;
                    ran = true;
                    current_thread = &t;
                    clusterd_emu_switch(&b.sched_sp, t.sp);
                    if (!b.error.empty()) return;
                }
            }
        }
        if (!any) return;
        if (b.events == before) {
            int waiting = 0;
            for (int i = 0; i < n; ++i) waiting += !b.threads[i].done;
            char s[200];
            snprintf(s, sizeof s,
                     "%s, block (%u,%u,%u): deadlock: %d threads wait at a barrier or warp collective that "
                     "cannot complete (a lane it names has exited, or the threads wait at different ones)",
                     b.kernel->name, b.idx.x, b.idx.y, b.idx.z, waiting);
            b.error = s;
            return;
        }
    }
}

}  // namespace

[[noreturn]] void fail(const char* what) {
    current_block->error = where() + ": " + what;
    abandon();
}

void syncthreads(Site site) {
    Block& b = *current_block;
    if (b.arrived == 0) {
        b.site = site;
    } else if (b.site != site) {
        char s[300];
        snprintf(s, sizeof s, "divergent barrier: __syncthreads at %s:%d while other threads of the block wait at %s:%d",
                 site.file, site.line, b.site.file, b.site.line);
        fail(s);
    }
    b.arrived++;
    b.events++;
    const uint64_t g = b.gen;
    if (b.arrived == b.alive) {
        b.arrived = 0;
        b.gen++;
        return;
    }
    wait_for(&b.gen, g);
}

namespace {

Warp& arrive(unsigned mask, uint64_t v, Site site, int* parity) {
    Block& b = *current_block;
    Thread& t = *current_thread;
    Warp& w = b.warps[t.linear >> 5];
    const int lane = t.linear & 31;
    if (!(mask >> lane & 1u)) fail("warp collective called by a lane its mask leaves out");
    if (mask & ~w.present) fail("warp collective mask names lanes the block does not have");
    if (w.arrived == 0) {
        w.site = site;
        w.mask = mask;
    } else if (w.site != site || w.mask != mask) {
        char s[300];
        snprintf(s, sizeof s, "divergent warp: collective at %s:%d (mask %#x) while other lanes wait at %s:%d (mask %#x)",
                 site.file, site.line, mask, w.site.file, w.site.line, w.mask);
        fail(s);
    }
    *parity = t.parity;
    t.parity ^= 1;
    w.slots[*parity][lane] = v;
    w.arrived++;
    b.events++;
    return w;
}

}  // namespace

// The slots are double-buffered by each lane's parity: a lane cannot be two
// collectives ahead of another lane of its warp (the second waits for it),
// so the buffer of the next collective is never one still being read.
const uint64_t* warp_exchange(unsigned mask, uint64_t v, Site site) {
    int p;
    Warp& w = arrive(mask, v, site, &p);
    const uint64_t g = w.gen;
    if (w.arrived == __builtin_popcount(mask)) {
        w.arrived = 0;
        w.gen++;
    } else {
        wait_for(&w.gen, g);
    }
    return w.slots[p];
}

void warp_reduce_by_last(unsigned mask, uint64_t v, Site site, void (*f)(const uint64_t*, void*), void* ctx) {
    int p;
    Warp& w = arrive(mask, v, site, &p);
    const uint64_t g = w.gen;
    if (w.arrived == __builtin_popcount(mask)) {
        f(w.slots[p], ctx);
        w.arrived = 0;
        w.gen++;
    } else {
        wait_for(&w.gen, g);
    }
}

}  // namespace emu

namespace {

// A kernel that reads or writes outside device memory (past an
// allocation's end, into a guard page) or overflows its fiber stack gets
// SIGSEGV or SIGBUS. The process cannot recover from it, but before the
// signal goes on to the Go runtime's handler (which ends the process, or
// turns a fault of Go code into a panic), on_fault says which kernel, block
// and thread it was. The handler runs on an alternate stack that every
// worker thread sets up, so a stack overflow can be reported too.
struct sigaction go_segv, go_bus;

void chain(int sig, siginfo_t* info, void* uctx) {
    const struct sigaction& old = sig == SIGSEGV ? go_segv : go_bus;
    if (old.sa_flags & SA_SIGINFO) {
        old.sa_sigaction(sig, info, uctx);
    } else if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) {
        signal(sig, SIG_DFL);
        raise(sig);
    } else {
        old.sa_handler(sig);
    }
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
    const emu::Block* b = emu::current_block;
    const emu::Thread* t = emu::current_thread;
    if (b != nullptr && t != nullptr) {
        char s[300];
        const int n = snprintf(s, sizeof s,
                               "clusterd CUDA model: memory fault (%s at %p) in kernel %s, block (%u,%u,%u), thread "
                               "(%u,%u,%u): an access outside device memory or a fiber stack overflow\n",
                               sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", info->si_addr, b->kernel->name, b->idx.x,
                               b->idx.y, b->idx.z, t->idx.x, t->idx.y, t->idx.z);
        if (n > 0) (void)!write(2, s, size_t(std::min(n, int(sizeof s) - 1)));
    }
    chain(sig, info, uctx);
}

std::once_flag install_once;

void install_fault_handler() {
    std::call_once(install_once, [] {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigfillset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &go_segv);
        sigaction(SIGBUS, &sa, &go_bus);
    });
}

// AltStack is a worker thread's signal stack.
struct AltStack {
    std::vector<char> mem = std::vector<char>(64 << 10);
    AltStack() {
        stack_t st;
        memset(&st, 0, sizeof st);
        st.ss_sp = mem.data();
        st.ss_size = mem.size();
        sigaltstack(&st, nullptr);
    }
    ~AltStack() {
        stack_t st;
        memset(&st, 0, sizeof st);
        st.ss_flags = SS_DISABLE;
        sigaltstack(&st, nullptr);
    }
};

void set_error(char* err, int errlen, const std::string& s) {
    if (errlen > 0) snprintf(err, errlen, "%s", s.c_str());
}

}  // namespace

extern "C" int clusterd_emu_has_kernel(const char* name) { return emu::registry().count(name) != 0; }

namespace {
std::atomic<int> order_flip{0};
}  // namespace

extern "C" void clusterd_emu_set_order(int flip) { order_flip = flip != 0; }

extern "C" int clusterd_emu_launch(const char* name, const unsigned* grid, const unsigned* block, const uint64_t* args,
                                   int nargs, const char* types, char* err, int errlen) {
    using namespace emu;
    auto it = registry().find(name);
    if (it == registry().end()) {
        set_error(err, errlen, std::string("no kernel named ") + name);
        return CLUSTERD_EMU_INVALID;
    }
    const Kernel& k = it->second;
    if (nargs != k.nargs || k.types != types) {
        set_error(err, errlen,
                  std::string(name) + ": parameters (" + types + ") do not match the kernel's (" + k.types + ")");
        return CLUSTERD_EMU_INVALID;
    }
    const uint64_t threads = uint64_t(block[0]) * block[1] * block[2];
    if (block[0] < 1 || block[1] < 1 || block[2] < 1 || block[0] > 1024 || block[1] > 1024 || block[2] > 64 ||
        threads > 1024) {
        set_error(err, errlen, std::string(name) + ": block shape outside CUDA's limits");
        return CLUSTERD_EMU_INVALID;
    }
    if (grid[0] < 1 || grid[1] < 1 || grid[2] < 1 || grid[1] > 65535 || grid[2] > 65535) {
        set_error(err, errlen, std::string(name) + ": grid shape outside CUDA's limits");
        return CLUSTERD_EMU_INVALID;
    }
    const uint64_t blocks = uint64_t(grid[0]) * grid[1] * grid[2];
    std::vector<uint64_t> slots(args, args + nargs);  // the driver copies parameters at launch

    std::atomic<uint64_t> next{0};
    std::mutex mu;
    std::string failure;
    std::atomic<bool> failed{false};
    install_fault_handler();
    auto work = [&]() {
        AltStack alt;
        Stacks stacks = take_stacks();
        if (!stacks.ensure(threads)) {
            std::lock_guard<std::mutex> g(mu);
            failure = "cannot map fiber stacks";
            failed = true;
            return;
        }
        std::vector<Thread> ts(threads);
        Block b{};
        b.dim = dim3{block[0], block[1], block[2]};
        b.grid = dim3{grid[0], grid[1], grid[2]};
        b.nthreads = int(threads);
        b.threads = ts.data();
        b.warps.resize((threads + 31) / 32);
        b.kernel = &k;
        b.args = slots.data();
        for (uint64_t id; !failed && (id = next++) < blocks;) {
            b.idx = uint3{unsigned(id % grid[0]), unsigned(id / grid[0] % grid[1]),
                          unsigned(id / (uint64_t(grid[0]) * grid[1]))};
            b.error.clear();
            run_block(b, stacks, ((id & 1) != 0) != (order_flip != 0));
            if (!b.error.empty()) {
                std::lock_guard<std::mutex> g(mu);
                if (failure.empty()) failure = b.error;
                failed = true;
            }
        }
        current_block = nullptr;
        current_thread = nullptr;
        return_stacks(stacks);
    };
    const uint64_t hw = std::max(1u, std::thread::hardware_concurrency());
    const int workers = int(std::min<uint64_t>({hw, blocks, 16}));
    // Fibers run on threads of the model's own, never on the calling (Go)
    // thread, whose stack and signal handling belong to the Go runtime.
    std::vector<std::thread> pool;
    for (int i = 0; i < workers; ++i) pool.emplace_back(work);
    for (auto& th : pool) th.join();
    if (failed) {
        set_error(err, errlen, failure);
        return CLUSTERD_EMU_FAILED;
    }
    return CLUSTERD_EMU_OK;
}
