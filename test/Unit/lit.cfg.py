# -*- Python -*-
# GoogleTest binaries under build/test/Unit run as lit tests, one lit test per
# GoogleTest case (as CIRCT's test/Unit does).
import os

import lit.formats

config.name = "CIRC-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.circ_obj_root, "test", "Unit")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
