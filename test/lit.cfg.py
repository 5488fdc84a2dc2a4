# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "CIRC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".circ", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.circ_obj_root, "test")
# Unit/ has its own config (GoogleTest format); Inputs/ hold data, not tests.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%circ_src_root", config.circ_src_root))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_c_runner_utils.so")))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_runner_utils.so")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.circ_tools_dir, config.llvm_tools_dir]
tools = ["circ-opt", "circc", "circ-build-model", "circ-report", "circ-tasks"]
# CIRC_VERIFY_ROUNDTRIP=1 turns every circ-opt run into a printer/parser
# round-trip check as well, as CIRCT does.
if os.environ.get("CIRC_VERIFY_ROUNDTRIP"):
    tools = [ToolSubst("circ-opt", command="circ-opt",
                       extra_args=["--verify-roundtrip"])] + tools[1:]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The examples directory is part of the suite: every example carries RUN lines.
config.substitutions.append(("%examples", os.path.join(config.circ_src_root,
                                                       "examples")))

# GPU features: `ptxas` where the CUDA toolkit's assembler exists, `cuda-gpu`
# only where a driver and a device are present.
cuda_root = os.environ.get("CUDA_HOME", "/usr/local/cuda")
ptxas = shutil.which("ptxas") or os.path.join(cuda_root, "bin", "ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    config.environment["CUDA_HOME"] = cuda_root
# The CUDA runtime for mlir-runner --shared-libs, and the test driver over
# host memory that lets GPU host code run without a GPU (test/Unit/Cuda).
config.substitutions.append(("%circ_cuda_runtime", os.path.join(
    config.circ_obj_root, "lib", "libcirc_cuda_runtime.so")))
config.substitutions.append(("%circ_mock_cuda", os.path.join(
    config.circ_obj_root, "test", "Unit", "Cuda", "libcirc_mock_cuda.so")))
if os.path.exists("/dev/nvidia0") and any(
        os.path.exists(os.path.join(d, "libcuda.so.1"))
        for d in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/compat"]):
    config.available_features.add("cuda-gpu")

# Data-parallel tests (test/Distributed): circc built with MPI and mpirun.
if getattr(config, "circ_enable_mpi", "OFF").upper() in ("ON", "1", "TRUE") \
        and shutil.which("mpirun"):
    config.available_features.add("mpi")
    # CI runs as root, in a container that may forbid the cross-process
    # memory copies of Open MPI's shared-memory transport; the machine may
    # have fewer cores than ranks.
    config.substitutions.append(
        ("%mpirun", "mpirun --allow-run-as-root --oversubscribe "
                    "--mca btl_vader_single_copy_mechanism none"))

# The report viewer's browser test (test/Viewer): Debian's chromium driven by
# playwright-core, which scripts/setup.sh installs into tools/viewer.
playwright_core = os.path.join(config.circ_src_root, "tools", "viewer",
                               "node_modules", "playwright-core")
if (os.path.exists("/usr/bin/chromium") and shutil.which("node")
        and os.path.isdir(playwright_core)):
    config.available_features.add("chromium")
    config.substitutions.append(("%playwright_core", playwright_core))
