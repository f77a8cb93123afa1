/* TEMPORARY local stub until main has request_answer_at; never committed */
#include "http.h"
void request_answer_at(struct request *r, double at);
void request_answer_at(struct request *r, double at) { (void)r; (void)at; }
