# End-to-end tests of the `smelt` command as a user runs it: exit codes and the key lines of
# its output (tests/cli/expect.sh CODE REGEX COMMAND...).
set(EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
function(smelt_cli_test name code regex)
  add_test(NAME cli_${name} COMMAND ${EXPECT} ${code} ${regex} $<TARGET_FILE:smelt> ${ARGN}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endfunction()

smelt_cli_test(help 0 "usage: smelt COMMAND" --help)
smelt_cli_test(no_command 2 "usage: smelt COMMAND")
smelt_cli_test(unknown_command 2 "unknown command 'versoin'. did you mean 'version'" versoin)
smelt_cli_test(unknown_flag 2 "unknown option '--bogus'" run-ir --bogus x.ir)
smelt_cli_test(version 0 "llvm 19\\.[0-9.]+ .*host cpu .*simd .*conv 3x3 stride 1: winograd F.2,3. .*blas openblas core [A-Za-z0-9_]+" version)
smelt_cli_test(run_ir_missing_file 1 "nope\\.ir: error: " run-ir nope.ir)
smelt_cli_test(run_ir_outputs 0 "output 0 %loss f32\\[\\] checksum" run-ir examples/ir/mlp.ir --seed 3)
smelt_cli_test(run_ir_train 0 "\\(learning\\)" run-ir examples/ir/mlp.ir --train 20)
smelt_cli_test(ir_grad 0 "update %w1 <- " ir examples/ir/mlp.ir --grad)
smelt_cli_test(ir_bad_program 1 "error: " ir tests/ir/bad/undefined_value.ir)

# Every example program's gradients agree with finite differences.
file(GLOB example_programs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/ir/*.ir)
foreach(program ${example_programs})
  get_filename_component(stem ${program} NAME_WE)
  smelt_cli_test(grad_check_${stem} 0 "grad-check .*: ok" run-ir ${program} --grad-check)
endforeach()

smelt_cli_test(check_phase3 0 "7 experiments" check examples/phase3_training_configs.yaml)
smelt_cli_test(check_recipes 0 "8 experiments" check examples/recipes.yaml)
smelt_cli_test(check_quickstart 0 "1 experiment.*ctc_fast" check examples/quickstart.yaml)
smelt_cli_test(check_bad_preset 1 "did you mean 'ctc_big48', 'ctc_fast', 'ctc_small' or 'ctc_wide48'" check tests/frontend/bad/unknown_preset.yaml)
smelt_cli_test(check_unknown_flag 2 "unknown option '--bogus'" check --bogus x.yaml)

smelt_cli_test(describe_small 0 "total .*12,586,470" describe small --batch 32)
smelt_cli_test(describe_json 0 "\"params\":[[:space:]]*9642597" describe ctc_small --json)
smelt_cli_test(describe_unknown 1 "did you mean 'ctc_big48', 'ctc_fast', 'ctc_small' or 'ctc_wide48'" describe ctc)
smelt_cli_test(describe_bad_batch 2 "--batch expects" describe small --batch 0)

# bench: the machine's peak alone, and a preset's figures with the GFLOP/s of its matrix work
smelt_cli_test(bench_peak 0 "fp32 peak \\(.*[0-9]+-bit FMAs\\): [0-9.]+ GFLOP/s on one thread, [0-9.]+ GFLOP/s on [0-9]+ thread"
               bench --peak)
smelt_cli_test(bench_ctc_fast 0 "state [0-9.]+ MiB.*scratch [0-9.]+ \\(shared.*other -?[0-9.]+.*training step 8\\.60 GFLOP.*training step: [0-9.]+ GFLOP/s \\([0-9]+% of the measured peak\\)"
               bench ctc_fast --steps 1 --peak)
smelt_cli_test(bench_no_preset 2 "expected one PRESET" bench)

foreach(cmd bench check data describe eval ir predict quantize run-ir train version)
  smelt_cli_test(help_${cmd} 0 "usage: smelt ${cmd}" ${cmd} --help)
endforeach()
smelt_cli_test(ir_grad_param_updated 1 "unnamed.ir:3:3: error: training: param %1 already has an update" ir tests/ir/unnamed.ir --grad)

# Every example program's training step (forward, backward, Adam) compiled with LLVM agrees with
# the reference interpreter.
foreach(program ${example_programs})
  get_filename_component(stem ${program} NAME_WE)
  smelt_cli_test(compare_${stem} 0 "compare .*: ok" run-ir ${program} --compare --grad)
endforeach()
# ... and so does it with OpenBLAS's GEMM (SMELT_GEMM=openblas) in place of our own kernels.
foreach(program ${example_programs})
  get_filename_component(stem ${program} NAME_WE)
  smelt_cli_test(compare_openblas_${stem} 0 "compare .*: ok" run-ir ${program} --compare --grad)
  set_tests_properties(cli_compare_openblas_${stem} PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_GEMM=set:openblas")
endforeach()
smelt_cli_test(run_ir_jit 0 "compiled [0-9]+ kernels" run-ir examples/ir/convnet.ir --backend jit)
# The mean of 4M copies of 0.1 (one f32 sum per lane was 0.24% off, hidden by an absolute
# tolerance), and ((w * 1e-30) * 1e-9) * 1e30 * 1e9, which flush-to-zero makes 0: labelled FTZ,
# naming the op that went subnormal, not a backend failure.
smelt_cli_test(compare_long_mean 0 "%m +f32\\[\\] +max_abs_err [0-9.e-]+  max_rel_err [0-9.e-]+  ok" run-ir tests/ir/long_mean.ir --compare)
smelt_cli_test(compare_ftz 0 "%back .* FTZ[[:space:]]+first mismatch at element [0-9]+: jit [^[:space:]]+, reference [^[:space:]]+[[:space:]]+explained by flush-to-zero: %tiny \\(mul\\) is [0-9.e-]+ in IEEE f32.*: ok" run-ir tests/ir/ftz_scale.ir --compare)

# Train a mini model once (fixture), then evaluate and predict with its checkpoint.
set(MINI_OUT ${CMAKE_BINARY_DIR}/test-runs)
smelt_cli_test(train_mini 0 "mini: ok after 2 epochs.*validation samples at the best epoch \\([^)]*mini/val_predictions.tsv\\):.  label +prediction.*  read [0-9]+ of 32 \\([0-9.]+%[^)]*\\).  misread [0-9]+ of 32, most often: [^ ]+ -> [^ ]+ [0-9]+ times.*\\(smelt eval --errors lists all\\).deploy the best model: smelt emit [^ ]*mini/best.safetensors -o deploy/mini" train tests/train/mini.yaml --out ${MINI_OUT} --quiet --overwrite)
set_tests_properties(cli_train_mini PROPERTIES FIXTURES_SETUP mini_checkpoint)
smelt_cli_test(eval_mini 0 "sequence accuracy +[0-9.]+%  \\(standard error [0-9.]+ points over 32 samples\\).*character accuracy .*CER" eval ${MINI_OUT}/mini/best.safetensors
               --data ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val)
# --errors: what it misreads, as text and in the JSON object
smelt_cli_test(eval_mini_errors 0 "misread [0-9]+ of 32 samples, [0-9]+ of them with a symbol too many or too few"
               eval ${MINI_OUT}/mini/best.safetensors --errors
               --data ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val)
smelt_cli_test(eval_mini_errors_json 0 "\"val_seq_acc_stderr\":.*\"errors\":.*\"misread\":.*\"wrong_length\":.*\"confusions\":"
               eval ${MINI_OUT}/mini/best.safetensors --errors --json
               --data ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val)
smelt_cli_test(predict_mini 0 "000096.png\t[0-3]*\n" predict ${MINI_OUT}/mini/best.safetensors
               ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val/images/000096.png)
smelt_cli_test(predict_missing_image 1 "nope.png: error" predict ${MINI_OUT}/mini/best.safetensors nope.png)
smelt_cli_test(train_unknown_experiment 1 "no experiment 'nope'" train tests/train/mini.yaml --experiment nope)
smelt_cli_test(train_misspelt_experiment 1 "no experiment 'minni'. did you mean 'mini'" train tests/train/mini.yaml --experiment minni)
# a second run into the same folder keeps the first (nothing written) unless told otherwise
smelt_cli_test(train_keeps_earlier_run 1 "holds an earlier run of 'mini'. --resume continues it, --overwrite starts over"
               train tests/train/mini.yaml --out ${MINI_OUT} --quiet)
# --epochs is checked against what depends on it (a cosine warm-up) before anything runs
smelt_cli_test(train_epochs_within_warmup 1 "experiment 'mini': --epochs 3 is not above the cosine schedule's warmup_epochs 3"
               train tests/train/cosine.yaml --epochs 3)
smelt_cli_test(tune_epochs_within_warmup 1 "--epochs 2 is not above the cosine schedule's warmup_epochs 3"
               tune tests/train/cosine.yaml --epochs 2 --out ${CMAKE_BINARY_DIR}/test-runs/cosine)
# every schedule takes a warm-up, checked the same way; one_cycle and lstm_forget_bias are settings
smelt_cli_test(check_schedule_options 0 "3 experiments" check tests/train/schedules.yaml)
smelt_cli_test(train_epochs_within_plateau_warmup 1 "schedules\\.yaml:13:3: error: experiment 'plateau_warmup': --epochs 2 is not above the reduce_on_plateau schedule's warmup_epochs 2"
               train tests/train/schedules.yaml --experiment plateau_warmup --epochs 2)
smelt_cli_test(tune_epochs_within_step_warmup 1 "experiment 'forget_bias': --epochs 1 is not above the step schedule's warmup_epochs 1"
               tune tests/train/schedules.yaml --epochs 1 --out ${CMAKE_BINARY_DIR}/test-tune-unused)
smelt_cli_test(train_resume_or_overwrite 2 "--resume and --overwrite exclude each other"
               train tests/train/mini.yaml --resume --overwrite)
# warm start: mini's checkpoint (charset 0-3) fine-tuned on 2-5, its head remapped by symbol
smelt_cli_test(train_init_transfer 0
               "init: 18 of 18 model tensors from [^ ]*mini/best.safetensors. the charsets differ: 2 class-indexed head tensors remapped by symbol \\(2 shared, 2 new\\).*transfer: ok after 1 epochs"
               train tests/train/mini_transfer.yaml --init ${MINI_OUT}/mini/best.safetensors --out ${MINI_OUT} --quiet --overwrite)
smelt_cli_test(train_init_folder 1 "mini: error: is a folder. give a checkpoint file such as .*mini/best.safetensors"
               train tests/train/mini_transfer.yaml --init ${MINI_OUT}/mini --out ${MINI_OUT}/init-folder --quiet --overwrite)
set_tests_properties(cli_eval_mini cli_eval_mini_errors cli_eval_mini_errors_json cli_predict_mini cli_predict_missing_image cli_train_keeps_earlier_run
                     cli_train_init_transfer cli_train_init_folder
                     PROPERTIES FIXTURES_REQUIRED mini_checkpoint)
# int8 (docs/quantization.md): mini's checkpoint quantized on its validation images, then
# evaluated, read and emitted like any checkpoint; a quantized one is not quantized again
set(MINI_VAL_DIR ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val)
smelt_cli_test(quantize_mini 0 "conv2d_2.weight +int8 \\(16 x 72\\).*lstm_1.l0.weight_hh +int8 \\(64 x 16\\), recurrent.*4 weights int8, calibrated on 32 images"
               quantize ${MINI_OUT}/mini/best.safetensors --calib ${MINI_VAL_DIR} -o ${MINI_OUT}/mini-int8.safetensors)
set_tests_properties(cli_quantize_mini PROPERTIES FIXTURES_REQUIRED mini_checkpoint FIXTURES_SETUP mini_int8)
smelt_cli_test(eval_mini_int8 0 "sequence accuracy .*character accuracy .*CER"
               eval ${MINI_OUT}/mini-int8.safetensors --data ${MINI_VAL_DIR})
smelt_cli_test(predict_mini_int8 0 "000096.png\t[0-3]*\n" predict ${MINI_OUT}/mini-int8.safetensors ${MINI_VAL_DIR}/images/000096.png)
smelt_cli_test(emit_mini_int8 0 "wrote [^ ]*mini_int8/mini_ctc.o" emit ${MINI_OUT}/mini-int8.safetensors -o ${MINI_OUT}/mini_int8)
smelt_cli_test(quantize_twice 1 "mini-int8.safetensors: error: is already quantized"
               quantize ${MINI_OUT}/mini-int8.safetensors --calib ${MINI_VAL_DIR} -o ${MINI_OUT}/mini-int8-again.safetensors)
smelt_cli_test(quantize_image_folder 0 "calibrated on 5 images" quantize ${MINI_OUT}/mini/best.safetensors
               --calib ${MINI_VAL_DIR}/images --images 5 --method max -o ${MINI_OUT}/mini-int8-folder.safetensors)
smelt_cli_test(quantize_empty_folder 1 "has no labels.tsv and no PNG or JPEG images" quantize ${MINI_OUT}/mini/best.safetensors
               --calib ${CMAKE_SOURCE_DIR}/tests/ir -o ${MINI_OUT}/mini-int8-none.safetensors)
set_tests_properties(cli_eval_mini_int8 cli_predict_mini_int8 cli_emit_mini_int8 cli_quantize_twice
                     PROPERTIES FIXTURES_REQUIRED mini_int8)
set_tests_properties(cli_quantize_image_folder cli_quantize_empty_folder PROPERTIES FIXTURES_REQUIRED mini_checkpoint)
smelt_cli_test(train_init_quantized 1 "mini-int8.safetensors: error: is a quantized inference checkpoint"
               train tests/train/mini_transfer.yaml --init ${MINI_OUT}/mini-int8.safetensors --out ${MINI_OUT}/init-int8 --quiet --overwrite)
set_tests_properties(cli_train_init_quantized PROPERTIES FIXTURES_REQUIRED mini_int8)
smelt_cli_test(quantize_bad_method 2 "--method expects max or mean-max, not 'median'" quantize x.safetensors --calib . --method median)
smelt_cli_test(quantize_no_calib 2 "--calib DIR is required" quantize x.safetensors)
smelt_cli_test(ir_stats_int8 0 "int8_gemm_kernels: [1-9][0-9]*.fp32_gemm_kernels: 1\n" ir ctc_small --int8 --stats)
# a CTC model from scratch on labels of one length gets a note
smelt_cli_test(train_one_length_note 0 "note: every training label has 2 symbols. a CTC model from scratch .*one_length: ok after 1 epochs"
               train tests/train/one_length.yaml --out ${MINI_OUT}/one-length --quiet --overwrite)
# fresh samples every epoch and a curriculum: the start line says so, each epoch's line shows the
# curriculum's bound, and smelt tune runs the experiment as well
smelt_cli_test(train_fresh_curriculum 0
  "96 fresh \\(new every epoch\\) train / 32 validation samples.*epoch   1/3 .* max_len 1  .*epoch   2/3 .* max_len 2  .*epoch   3/3 .* max_len 3  .*fresh: ok after 3 epochs"
  train tests/train/fresh.yaml --out ${MINI_OUT}/fresh-train --overwrite)
smelt_cli_test(check_fresh 0 "data: synthetic 96/32, length 1-3, fresh training samples every epoch\n" check tests/train/fresh.yaml)
smelt_cli_test(tune_fresh_curriculum 0 "\\[fresh\\] ok: 3/3 epochs" tune tests/train/fresh.yaml --out ${MINI_OUT}/fresh-tune)

# smelt build and smelt emit (end to end in tests/unit/test_aot_build.c and test_aot_emit.c).
foreach(cmd build emit)
  smelt_cli_test(help_${cmd} 0 "usage: smelt ${cmd}" ${cmd} --help)
endforeach()
smelt_cli_test(build_unknown_experiment 1 "no experiment 'nope'" build tests/train/mini.yaml --experiment nope -o x)
smelt_cli_test(build_unknown_cpu 1 "unknown CPU 'pentium-v9'" build tests/train/mini.yaml -o x --cpu pentium-v9)
smelt_cli_test(build_32bit_cpu 1 "LLVM failed compiling for CPU .i686.: 64-bit code.*i686. is a 32-bit CPU" build tests/train/mini.yaml -o x --cpu i686)
smelt_cli_test(build_no_output 2 "missing -o PATH" build tests/train/mini.yaml)
smelt_cli_test(build_bf16_named_cpu 1 "precision: bf16: bf16 products are compiled for this machine's CPU only, not for --cpu x86-64-v3"
               build tests/train/mini_bf16.yaml -o x --cpu x86-64-v3)
smelt_cli_test(bench_precision_unknown 2 "--precision expects fp32 or bf16, not 'fp16'" bench small --precision fp16)
smelt_cli_test(emit_missing_checkpoint 1 "nope.safetensors: error" emit nope.safetensors -o x)
smelt_cli_test(emit_bad_name 2 "--name must be a C identifier" emit nope.safetensors -o x --name 1x)
smelt_cli_test(emit_mini 0 "wrote .*/mini_ctc.o .*, .*/mini_ctc.h: batch 1, scratch [0-9]+ bytes" emit
               ${MINI_OUT}/mini/best.safetensors -o ${CMAKE_BINARY_DIR}/test-emit)
set_tests_properties(cli_emit_mini PROPERTIES FIXTURES_REQUIRED mini_checkpoint)

# smelt tune (whole sweeps end to end in tests/unit/test_tune.c): every error before anything runs.
smelt_cli_test(help_tune 0 "usage: smelt tune" tune --help)
smelt_cli_test(tune_unknown_preset 1 "unknown preset 'ctc'. did you mean 'ctc_big48', 'ctc_fast', 'ctc_small' or 'ctc_wide48'.*nothing was run" tune
               tests/frontend/bad/unknown_preset.yaml --out ${CMAKE_BINARY_DIR}/test-tune-unused)
smelt_cli_test(tune_only_unknown 1 "no experiment 'atention'. did you mean 'attention'. .known: ctc, attention, blowup" tune
               tests/tune/sweep.yaml --only ctc,atention --out ${CMAKE_BINARY_DIR}/test-tune-unused)
smelt_cli_test(tune_rank_by_unknown 2 "unknown metric 'val_seq'. did you mean 'val_seq_acc'" tune tests/tune/sweep.yaml
               --rank-by val_seq)
smelt_cli_test(tune_bad_jobs 2 "--jobs expects an integer" tune tests/tune/sweep.yaml --jobs 0)

# Updates are one simultaneous assignment and outputs are the values the step read (docs/ir.md):
# swaps, rotations, delay lines, an updated state output, a const output and a param output of
# a training step, compiled, agree with the interpreter.
smelt_cli_test(compare_update_cycles 0 "compare .*: ok" run-ir tests/ir/update_cycles.ir --compare)
smelt_cli_test(compare_update_delay 0 "compare .*: ok" run-ir tests/ir/update_delay.ir --compare)
smelt_cli_test(compare_param_output 0 "compare .*: ok" run-ir tests/ir/param_output.ir --compare --grad)
# pow with a constant base of 2, 0.5 or 4 becomes a call to exp2f or ldexpf (LLVM's doing): the
# JIT links them from the table of codegen/cg_symbols.c.
smelt_cli_test(compare_pow_const_base 0 "compare .*: ok" run-ir tests/ir/pow_const_base.ir --compare)
# Winograd convolutions (codegen/cg_winograd.h): 3x3 stride-1 ones of 16 channels and more, output
# sizes that are and are not multiples of the tile, paddings 0, 1, 2 and uneven ones, a fused
# epilogue, input and filter gradients; with OpenBLAS's GEMM too, and by im2col (SMELT_CONV).
smelt_cli_test(compare_winograd 0 "compare .*: ok" run-ir tests/ir/winograd.ir --compare --grad)
smelt_cli_test(compare_winograd_openblas 0 "compare .*: ok" run-ir tests/ir/winograd.ir --compare --grad)
set_tests_properties(cli_compare_winograd_openblas PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_GEMM=set:openblas")
smelt_cli_test(compare_winograd_im2col 0 "compare .*: ok" run-ir tests/ir/winograd.ir --compare --grad)
set_tests_properties(cli_compare_winograd_im2col PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_CONV=set:im2col")
# small's five Winograd convolutions at their real shapes (batch 1; inputs as params so that the
# input gradients are compared too): the bound docs/architecture.md gives
smelt_cli_test(compare_winograd_small_shapes 0 "output  %c6 .* ok.*compare .*: ok"
               run-ir tests/ir/winograd_small_shapes.ir --compare --grad)
smelt_cli_test(conv_choice_unknown 0 "warning: SMELT_CONV=fft is none of 'winograd', 'winograd4', 'im2col'. using winograd"
               run-ir tests/ir/winograd.ir --compare --grad)
set_tests_properties(cli_conv_choice_unknown PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_CONV=set:fft")

# An LSTM layer's recurrence as one op (lstm_scan, ir/eval_recurrent.c): its VJP against finite
# differences, and the compiled forward and training step against the interpreter, with our
# GEMM, OpenBLAS's, and on one thread. Its cases: two directions in blocks of fewer than four rows
# (dot products against W_hh), one direction with the state not saved (its VJP runs the scan again
# with it), two directions of five rows and an odd H (W_hh packed once, vector remainders), nine
# rows of one direction in blocks of five and four.
smelt_cli_test(grad_check_lstm_scan 0 "grad-check .*: ok" run-ir tests/ir/lstm_scan.ir --grad-check)
smelt_cli_test(compare_lstm_scan 0 "compare .*: ok" run-ir tests/ir/lstm_scan.ir --compare --grad)
smelt_cli_test(compare_lstm_scan_openblas 0 "compare .*: ok" run-ir tests/ir/lstm_scan.ir --compare --grad)
set_tests_properties(cli_compare_lstm_scan_openblas PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_GEMM=set:openblas")
smelt_cli_test(compare_lstm_scan_one_thread 0 "compare .*: ok" run-ir tests/ir/lstm_scan.ir --compare --grad)
set_tests_properties(cli_compare_lstm_scan_one_thread PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_THREADS=set:1")

# run-ir diagnostics name the file: a loss that is not a scalar, a program without outputs (for
# each mode that differentiates output 0), and the note that the verifier waits for a file
# without syntax errors.
smelt_cli_test(grad_check_vector_loss 1 "^tests/ir/vector_output\\.ir:4:3: error: autodiff: the loss %b must be a scalar"
               run-ir tests/ir/vector_output.ir --grad-check)
smelt_cli_test(grad_check_no_output 1 "^tests/ir/no_outputs\\.ir: error: no output to differentiate \\(output 0 must be a scalar loss\\)"
               run-ir tests/ir/no_outputs.ir --grad-check)
smelt_cli_test(compare_grad_no_output 1 "^tests/ir/no_outputs\\.ir: error: no output to differentiate \\(output 0 must be a scalar loss\\)"
               run-ir tests/ir/no_outputs.ir --compare --grad)
smelt_cli_test(train_ir_no_output 1 "^tests/ir/no_outputs\\.ir: error: no output to differentiate \\(output 0 must be a scalar loss\\)"
               run-ir tests/ir/no_outputs.ir --train 2)
smelt_cli_test(run_ir_syntax_error_note 1
               "syntax_missing_colon\\.ir:3:17: error: expected ':' before the type, found 'f32'.tests/ir/bad/syntax_missing_colon\\.ir: note: the verifier did not run \\(types, shapes, updates\\): fix the errors above first"
               run-ir tests/ir/bad/syntax_missing_colon.ir)

# Out of memory is the user's condition: under an address-space limit too low for the run,
# train, eval and predict refuse before running with one message naming the limit, and exit 1;
# under one that fits they run. Before the memory check, train aborted or spun forever inside
# OpenBLAS (hence the timeout), eval and predict hung. The *_low_memory runs use OpenBLAS's GEMM
# (SMELT_GEMM=openblas), which maps 128 MiB per GEMM thread; train_low_memory_own_gemm the
# default, which maps nothing more. Pinned to one CPU (taskset), so that the need does not depend
# on the machine's core count and OpenBLAS starts no thread of its own racing the command for the
# memory left: the process reaches the check with ~234 MiB of address space in use, and the mini
# model's runs need 144-155 MiB more with OpenBLAS, 16-26 MiB without.
# AddressSanitizer reserves terabytes of address space for its shadow: no limit of this kind lets
# a sanitized smelt start, so these tests exist only in plain builds.
function(smelt_cli_memory_test name code limit_kb regex)
  if(SMELT_SANITIZE)
    return()
  endif()
  add_test(NAME cli_${name} COMMAND ${EXPECT} ${code} ${regex} taskset -c 0 bash -c "ulimit -v ${limit_kb} && exec \"$@\""
           smelt $<TARGET_FILE:smelt> ${ARGN} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(cli_${name} PROPERTIES TIMEOUT 120)
endfunction()
set(MINI_VAL ${CMAKE_BINARY_DIR}/test-cache/data/synth-s3-n96+32-len1-3-ce67a23d1/val)
smelt_cli_memory_test(train_low_memory 1 307200
  "not enough memory for training mini: it needs [0-9.]+ MiB \\(weights and state .*OpenBLAS buffers 1 x 128.0 MiB, loader thread stack 8.0 MiB\\) but the address-space limit \\(ulimit -v\\) leaves [0-9.]+ [KM]iB"
  train tests/train/mini.yaml --out ${MINI_OUT}/low-memory --quiet --overwrite)
smelt_cli_memory_test(eval_low_memory 1 307200
  "not enough memory for evaluating .*best.safetensors: it needs .* but the address-space limit \\(ulimit -v\\) leaves"
  eval ${MINI_OUT}/mini/best.safetensors --data ${MINI_VAL})
smelt_cli_memory_test(predict_low_memory 1 307200
  "not enough memory for predicting with .*best.safetensors: it needs .* but the address-space limit \\(ulimit -v\\) leaves"
  predict ${MINI_OUT}/mini/best.safetensors ${MINI_VAL}/images/000096.png)
if(NOT SMELT_SANITIZE)
  set_tests_properties(cli_train_low_memory cli_eval_low_memory cli_predict_low_memory PROPERTIES
                       ENVIRONMENT_MODIFICATION "SMELT_GEMM=set:openblas")
endif()
smelt_cli_memory_test(train_low_memory_own_gemm 1 256000
  "not enough memory for training mini: it needs [0-9.]+ MiB \\(weights and state .*, loader thread stack 8.0 MiB\\) but the address-space limit \\(ulimit -v\\) leaves [0-9.]+ [KM]iB"
  train tests/train/mini.yaml --out ${MINI_OUT}/low-memory-own --quiet --overwrite)
smelt_cli_memory_test(train_enough_memory 0 460800 "headroom: [0-9.]+ MiB address space \\(ulimit -v\\).*mini: ok after 2 epochs"
  train tests/train/mini.yaml --out ${MINI_OUT}/enough-memory --quiet --overwrite)
smelt_cli_memory_test(eval_enough_memory 0 460800 "sequence accuracy" eval ${MINI_OUT}/mini/best.safetensors --data ${MINI_VAL})
smelt_cli_memory_test(predict_enough_memory 0 460800 "000096.png\t[0-3]*\n"
  predict ${MINI_OUT}/mini/best.safetensors ${MINI_VAL}/images/000096.png)
if(NOT SMELT_SANITIZE)
  set_tests_properties(cli_eval_low_memory cli_predict_low_memory cli_eval_enough_memory cli_predict_enough_memory
                       PROPERTIES FIXTURES_REQUIRED mini_checkpoint)
endif()
# the estimate is part of a run's start-up output
smelt_cli_test(train_memory_estimate 0 "memory for training mini: about [0-9.]+ MiB \\(weights and state [0-9.]+ KiB, training and evaluation steps .*headroom: "
               train tests/train/mini.yaml --out ${MINI_OUT}/estimate --quiet --overwrite)

# `data synth` styles (a style per image too) and --like: a grey 40 x 120 set measured back
# (charset sorted, length, size, grey), then styled like it; out-of-range style options are
# usage errors.
set(SYNTH_LIKE ${CMAKE_BINARY_DIR}/test-synth-like)
add_test(NAME cli_data_synth_like
         COMMAND ${EXPECT} 0 "like [^ ]*/a: 6 samples; charset \\(4 symbols\\) 7XYZ; length 4-4; size 40 x 120 \\(median of 6 images\\); grey \\(6 of 6 images greyscale\\)"
                 sh -c "rm -rf \"$1\" && \"$0\" data synth --out \"$1/a\" --count 6 --grey --height 40 --width 120 --length 4 --charset XYZ7 --lines 4 --char-colours --distort 2 --mixed-styles --quiet && \"$0\" data synth --like \"$1/a\" --out \"$1/b\" --count 3 --quiet && rm -rf \"$1\""
                 $<TARGET_FILE:smelt> ${SYNTH_LIKE}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
smelt_cli_test(data_synth_bad_lines 2 "--lines expects an integer in \\[0, 20\\], got .21." data synth --out ${SYNTH_LIKE}-unused --lines 21)
smelt_cli_test(data_synth_bad_distort 2 "--distort must be within 0-4, got '5'" data synth --out ${SYNTH_LIKE}-unused --distort 5)
smelt_cli_test(data_synth_like_missing 1 "labels.tsv" data synth --out ${SYNTH_LIKE}-unused --like ${SYNTH_LIKE}-nowhere)
smelt_cli_test(data_synth_fonts_missing 1 "/nonexistent-fonts: error: no such font file or folder" data synth --out ${SYNTH_LIKE}-unused --fonts /nonexistent-fonts)
# --fonts again adds files and folders, in order; each is checked
add_test(NAME cli_data_synth_fonts_list
         COMMAND ${EXPECT} 0 "DejaVuSerif\\.ttf\", \"[^\"]*DejaVuSans-Bold\\.ttf\""
                 sh -c "rm -rf \"$1\" && \"$0\" data synth --out \"$1\" --count 2 --quiet --fonts /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf --fonts /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf && cat \"$1/synth.json\" && rm -rf \"$1\""
                 $<TARGET_FILE:smelt> ${SYNTH_LIKE}-fonts
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
smelt_cli_test(data_synth_fonts_second_missing 1 "/nonexistent-fonts: error: no such font file or folder" data synth --out ${SYNTH_LIKE}-unused --fonts /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf --fonts /nonexistent-fonts)
smelt_cli_test(data_synth_fonts_colon 2 "--fonts 'a:b': a path with ':' cannot be given" data synth --out ${SYNTH_LIKE}-unused --fonts a:b)
# int8 products against the interpreter, bit for bit (tests/ir/int8.ir): quantize; i8 x i8 -> i32
# matmuls (B and B^T, K not a multiple of 4 and over one packed block, rows and columns past a
# tile, a batch) and convolutions (im2col with padding and stride, 1x1 on the image itself); the
# dequantizing epilogue (to_f32, per-channel scales, bias, relu) fused after them.
smelt_cli_test(compare_int8 0 "compare .*: ok" run-ir tests/ir/int8.ir --compare)
smelt_cli_test(compare_int8_one_thread 0 "compare .*: ok" run-ir tests/ir/int8.ir --compare)
set_tests_properties(cli_compare_int8_one_thread PROPERTIES ENVIRONMENT_MODIFICATION "SMELT_THREADS=set:1")
