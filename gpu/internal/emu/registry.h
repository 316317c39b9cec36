// registry.h: the kernels the model can run, registered by the kernel
// translation units (kernels_*.cc) with their C++ signatures.
#pragma once

#include <stdint.h>
#include <string.h>

#include <string>
#include <type_traits>
#include <utility>

namespace emu {

// Kernel is one registered __global__ function.
struct Kernel {
    const char* name;
    void (*fn)();                                  // the kernel, type-erased
    void (*invoke)(void (*fn)(), const uint64_t*); // calls fn with the unpacked parameter slots
    int nargs;
    std::string types;  // PTX-style parameter types: "u64 u32 f32 …"
};

void register_kernel(const Kernel& k);

// unpack reads a parameter of type T from its 8-byte slot, as the driver
// reads sizeof(T) bytes from the start of each slot (little-endian).
template <typename T>
T unpack(uint64_t v) {
    if constexpr (std::is_pointer<T>::value) {
        return reinterpret_cast<T>(static_cast<uintptr_t>(v));
    } else {
        static_assert(std::is_arithmetic<T>::value, "kernel parameter the model cannot pass");
        T r;
        memcpy(&r, &v, sizeof(T));
        return r;
    }
}

template <typename T>
const char* param_type() {
    if constexpr (std::is_pointer<T>::value || sizeof(T) == 8) {
        return "u64";
    } else if constexpr (std::is_floating_point<T>::value) {
        return "f32";
    } else {
        static_assert(sizeof(T) == 4, "kernel parameter the model cannot pass");
        return "u32";
    }
}

template <typename... P, size_t... I>
void invoke_with(void (*f)(P...), const uint64_t* a, std::index_sequence<I...>) {
    f(unpack<P>(a[I])...);
}

template <typename... P>
struct Registrar {
    Registrar(const char* name, void (*f)(P...)) {
        Kernel k;
        k.name = name;
        k.fn = reinterpret_cast<void (*)()>(f);
        k.invoke = [](void (*g)(), const uint64_t* a) {
            invoke_with(reinterpret_cast<void (*)(P...)>(g), a, std::index_sequence_for<P...>{});
        };
        k.nargs = sizeof...(P);
        const char* types[] = {param_type<P>()..., nullptr};
        for (int i = 0; i < k.nargs; ++i) {
            if (i > 0) k.types += ' ';
            k.types += types[i];
        }
        register_kernel(k);
    }
};

template <typename... P>
Registrar(const char*, void (*)(P...)) -> Registrar<P...>;

}  // namespace emu

#define CLUSTERD_EMU_KERNEL(f) static emu::Registrar registrar_##f(#f, f)
