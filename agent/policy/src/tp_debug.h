/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Instrumentation of the evaluator: how many times each derived field was
 * computed by the calling thread. The unit tests use it to prove that a
 * field is derived at most once per evaluation, however many filters
 * compare against it.
 */
#ifndef TP_DEBUG_H
#define TP_DEBUG_H

enum tp_derived {
	TP_D_SIGALG,
	TP_D_VERSION,
	TP_D_SERIAL,
	TP_D_ISSUER,
	TP_D_SUBJECT,
	TP_D_NOTBEFORE,
	TP_D_NOTAFTER,
	TP_D_KEYUSAGE,
	TP_D_EKU,
	TP_D_SHA1,
	TP_D_SHA256,
	TP_D_SELFSIGNED,
	TP_D_SAN,
	TP_D__COUNT
};

/* Per thread; only ever incremented by tp_evaluate_der(). */
extern _Thread_local unsigned int tp_derive_count[TP_D__COUNT];

#endif /* TP_DEBUG_H */
