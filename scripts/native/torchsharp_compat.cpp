// Debian 12's libstdc++ (GLIBCXX_3.4.30) lacks std::ios_base_library_init(), added in GCC 13
// (GLIBCXX_3.4.32). libLibTorchSharp.so needs only that one symbol from the newer version; this
// library supplies it so the patched TorchSharp loads on the system libstdc++.
#include <ios>
namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}
