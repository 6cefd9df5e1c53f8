#ifndef ADRNORM_CPROTOBUFC_SHIM_H
#define ADRNORM_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
