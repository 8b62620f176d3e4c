/*
 * outbox.h - the outbox announcement shared by the outbox_notify trigger and code that writes
 * outbox rows directly (outbox_notify.c).
 */
#ifndef CRM_OUTBOX_H
#define CRM_OUTBOX_H

/* Queues NOTIFY crm_outbox with the payload of crm.outbox_notify() for one outbox row. */
extern void crm_outbox_announce(int64 tenant_id, int64 outbox_id, const char *topic);

#endif							/* CRM_OUTBOX_H */
