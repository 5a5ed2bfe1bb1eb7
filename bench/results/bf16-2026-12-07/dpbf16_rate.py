# Writes dpbf16_rate.ll: 24 independent chains of AVX512-BF16 vdpbf16ps (zmm) in a loop, the
# throughput test of bench/results/bf16-2026-12-07/README.md (compare `smelt bench --peak`'s FMA
# chains). Build: python3 dpbf16_rate.py && llc-19 -O2 -mcpu=sapphirerapids -filetype=obj
# dpbf16_rate.ll -o dp.o && gcc -O2 dpbf16_rate.c dp.o -o dpbf16_rate && ./dpbf16_rate
n = 24
one = ", ".join(["bfloat 0xR3F80"] * 32)
out = ['define void @loop(i64 %iters, ptr %out) "target-features"="+avx512bf16,+avx512f,+avx512bw,+avx512vl" {',
       "entry:", "  br label %body", "body:", "  %i = phi i64 [0, %entry], [%inext, %body]"]
out += [f"  %a{j} = phi <16 x float> [zeroinitializer, %entry], [%b{j}, %body]" for j in range(n)]
out += [f"  %b{j} = call <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float> %a{j}, <32 x bfloat> <{one}>, <32 x bfloat> <{one}>)"
        for j in range(n)]
out += ["  %inext = add i64 %i, 1", "  %c = icmp slt i64 %inext, %iters", "  br i1 %c, label %body, label %exit", "exit:"]
for j in range(n):
    out += [f"  %p{j} = getelementptr <16 x float>, ptr %out, i64 {j}", f"  store <16 x float> %b{j}, ptr %p{j}"]
out += ["  ret void", "}", "declare <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float>, <32 x bfloat>, <32 x bfloat>)"]
open("dpbf16_rate.ll", "w").write("\n".join(out) + "\n")
