#!/usr/bin/env bash
# Provisions the workshop VM: everything comes from ./build.sh setup, the same script a learner's
# own Linux box or CI uses, so the VM cannot drift from what is tested.
set -euo pipefail
cd /vagrant
./build.sh setup
