/* Between the SDK's own files; not part of the API. */
#ifndef CC_SDK_INTERNAL_H
#define CC_SDK_INTERNAL_H

#include <stdint.h>

/* One hypercall (VM mode only): the status, *result when non-NULL. */
uint32_t cc_sdk_hypercall(uint32_t cmd, const void *payload, uint32_t len,
			  uint64_t *result);

/* One record out (json[len] must be writable: local mode borrows it for
 * the newline).  transport.c. */
void cc_sdk_emit(char *json, uint32_t len);

/* sdk.c's start-up, run by transport.c's constructor when present. */
void cc_sdk_announce(void);
void cc_sdk_catalog(void);

/* A complete JSON record from elsewhere (libvoidstar): sent as is in VM
 * mode (the VMM validates it), appended as a line in local mode. */
void cc_sdk_record(const char *json, uint32_t len);

/* Coverage (coverage.c): edges go to a private map until the VM's bitmap
 * is attached. */
void cc_cov_attach(uint8_t *map);
void cc_cov_edge(uint32_t cur);

/* Kernel coverage (kcov.c): on when the guest kernel has KCOV. */
void cc_kcov_start(void);
void cc_kcov_flush(void);

#endif
