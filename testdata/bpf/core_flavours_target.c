// SPDX-License-Identifier: GPL-2.0
/*
 * Target BTF for core_flavours.c (kernelTypes: this object): struct s and
 * a flavour of it that places x differently and adds y. No programs.
 */
struct s {
	int x;
};

struct s___v2 {
	int z;
	int x;
	int y;
};

struct s *core_flavours_s __attribute__((used));
struct s___v2 *core_flavours_s_v2 __attribute__((used));
