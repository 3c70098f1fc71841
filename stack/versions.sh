# shellcheck shell=bash
# Sourced by build.sh and images.sh: the pins of versions.env, then the versions asked for at
# run time. Only the driver and the Azure provider can be chosen at run time (they are built
# here from the module proxy; every other component stays at its pin):
#
#   SECRETBENCH_DRIVER_VERSION=v1.5.4          (build.sh --driver v1.5.4)
#   SECRETBENCH_AZURE_PROVIDER_VERSION=v1.7.0  (build.sh --azure-provider v1.7.0)
#   SECRETBENCH_KUBERNETES_VERSION=v1.33.8     (build.sh --kubernetes v1.33.8; host backend:
#                                               `down`, then `up` with the variable set)
#
# The image tags follow the version (the upstream charts name their image by the chart's own
# version). PINNED_* keep the versions.env values for the components that are built against
# the pinned driver (the fake provider) and for the committed wrapper modules.

# shellcheck source=versions.env
source "$STACK_DIR/versions.env"

# Read by build.sh and images.sh, which source this file.
# shellcheck disable=SC2034
PINNED_CSI_DRIVER_VERSION=$CSI_DRIVER_VERSION
# shellcheck disable=SC2034
PINNED_KUBERNETES_VERSION=$KUBERNETES_VERSION
# shellcheck disable=SC2034
PINNED_AZURE_PROVIDER_VERSION=$AZURE_PROVIDER_VERSION

# A release tag as the module proxy and the image registries spell it.
valid_release() { [[ $1 =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; }

if [[ -n ${SECRETBENCH_DRIVER_VERSION:-} ]]; then
  valid_release "$SECRETBENCH_DRIVER_VERSION" ||
    { printf '[stack] error: driver version %q is not a release tag like v1.5.4\n' "$SECRETBENCH_DRIVER_VERSION" >&2; exit 2; }
  CSI_DRIVER_VERSION=$SECRETBENCH_DRIVER_VERSION
  CSI_DRIVER_IMAGE=${CSI_DRIVER_IMAGE%:*}:$CSI_DRIVER_VERSION
  CSI_DRIVER_CRDS_IMAGE=${CSI_DRIVER_CRDS_IMAGE%:*}:$CSI_DRIVER_VERSION
fi
if [[ -n ${SECRETBENCH_AZURE_PROVIDER_VERSION:-} ]]; then
  valid_release "$SECRETBENCH_AZURE_PROVIDER_VERSION" ||
    { printf '[stack] error: Azure provider version %q is not a release tag like v1.8.2\n' "$SECRETBENCH_AZURE_PROVIDER_VERSION" >&2; exit 2; }
  AZURE_PROVIDER_VERSION=$SECRETBENCH_AZURE_PROVIDER_VERSION
  AZURE_PROVIDER_IMAGE=${AZURE_PROVIDER_IMAGE%:*}:$AZURE_PROVIDER_VERSION
fi
if [[ -n ${SECRETBENCH_KUBERNETES_VERSION:-} ]]; then
  if ! valid_release "$SECRETBENCH_KUBERNETES_VERSION" || [[ $SECRETBENCH_KUBERNETES_VERSION != v1.* ]]; then
    printf '[stack] error: Kubernetes version %q is not a release tag like v1.33.8\n' "$SECRETBENCH_KUBERNETES_VERSION" >&2
    exit 2
  fi
  KUBERNETES_VERSION=$SECRETBENCH_KUBERNETES_VERSION
fi
