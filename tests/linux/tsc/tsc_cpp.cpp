// A C++ program (libstdc++, libgcc_s, dynamically linked) that reads the
// TSC and the steady clock and throws an exception through the unwinder:
// the run-time pieces a real C++ server starts with.  See tsc_c.c.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>
#include <x86intrin.h>

int main()
{
	std::vector<std::uint64_t> v;
	for (int i = 0; i < 4; i++)
		v.push_back(__rdtsc());
	bool monotone = true;
	for (std::size_t i = 1; i < v.size(); i++)
		monotone = monotone && v[i] >= v[i - 1];
	std::cout << "tsc_cpp: " << v.size() << " reads monotone "
		  << (monotone ? "yes" : "no") << std::endl;
	try {
		throw std::runtime_error("unwound");
	} catch (const std::exception &e) {
		std::cout << "tsc_cpp: exception " << e.what() << std::endl;
	}
	auto c0 = std::chrono::steady_clock::now();
	std::uint64_t s0 = __rdtsc();
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	auto c1 = std::chrono::steady_clock::now();
	std::uint64_t s1 = __rdtsc();
	auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(c1 - c0)
			  .count();
	std::cout << "tsc_cpp: sleep 50 ms: monotonic " << ns << " ns tsc "
		  << (s1 - s0) << " ticks" << std::endl;
	std::cout << "tsc_cpp: done" << std::endl;
	return 0;
}
