/*
 * geo_srs.c - coordinate systems used in China and great-circle distance.
 *
 * WGS-84 -> GCJ-02 is the published "canonical" formula (Krasovsky 1940
 * ellipsoid, a = 6378245.0, ee = 0.00669342162296594323) that every open
 * implementation reproduces; outside China's bounding box (lon 72.004..137.8347,
 * lat 0.8293..55.8271) it is the identity.  GCJ-02 -> WGS-84 has no closed form:
 * we iterate p <- p - (f(p) - target), which converges to well below a
 * millimetre in a handful of steps.  BD-09 is GCJ-02 with Baidu's extra
 * rotation/offset using x_pi = pi * 3000 / 180; its inverse is the published
 * closed-form approximation refined by the same fixed-point iteration.
 */
#include "geo.h"

#include <math.h>
#include <string.h>

#define KRASOVSKY_A 6378245.0
#define KRASOVSKY_EE 0.00669342162296594323
#define X_PI (M_PI * 3000.0 / 180.0)

static const char *const srs_names[CRM_SRS_COUNT] = {"wgs84", "gcj02", "bd09"};

const char *
crm_srs_name(CrmSrs srs)
{
	return (srs >= 0 && srs < CRM_SRS_COUNT) ? srs_names[srs] : "unknown";
}

bool
crm_srs_parse(const char *name, CrmSrs *out, CrmError *err)
{
	for (int i = 0; i < CRM_SRS_COUNT; i++)
	{
		if (strcmp(name, srs_names[i]) == 0)
		{
			*out = (CrmSrs) i;
			return true;
		}
	}
	if (strcmp(name, "4326") == 0 || strcmp(name, "EPSG:4326") == 0 || strcmp(name, "WGS84") == 0)
	{
		*out = CRM_SRS_WGS84;
		return true;
	}
	crm_fail(err, CRM_ERR_INVALID, 0, "unknown coordinate system \"%s\"", name);
	crm_error_hint(err, "Use 'wgs84' (GPS), 'gcj02' (Amap, Tencent, WeChat) or 'bd09' (Baidu).");
	return false;
}

bool
crm_srs_out_of_china(double lon, double lat)
{
	return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

static double
transform_lat(double x, double y)
{
	double		r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
	return r;
}

static double
transform_lon(double x, double y)
{
	double		r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
	return r;
}

void
crm_wgs84_to_gcj02(double lon, double lat, double *olon, double *olat)
{
	double		dlat,
				dlon,
				radlat,
				magic,
				sqrtmagic;

	if (crm_srs_out_of_china(lon, lat))
	{
		*olon = lon;
		*olat = lat;
		return;
	}
	dlat = transform_lat(lon - 105.0, lat - 35.0);
	dlon = transform_lon(lon - 105.0, lat - 35.0);
	radlat = lat / 180.0 * M_PI;
	magic = sin(radlat);
	magic = 1 - KRASOVSKY_EE * magic * magic;
	sqrtmagic = sqrt(magic);
	dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrtmagic) * M_PI);
	dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrtmagic * cos(radlat) * M_PI);
	*olon = lon + dlon;
	*olat = lat + dlat;
}

/* Exact inverse by fixed-point iteration: stops below 1e-10 degrees (about 0.01 mm). */
void
crm_gcj02_to_wgs84(double lon, double lat, double *olon, double *olat)
{
	double		x = lon,
				y = lat;

	if (crm_srs_out_of_china(lon, lat))
	{
		*olon = lon;
		*olat = lat;
		return;
	}
	for (int i = 0; i < 30; i++)
	{
		double		fx,
					fy,
					dx,
					dy;

		crm_wgs84_to_gcj02(x, y, &fx, &fy);
		dx = fx - lon;
		dy = fy - lat;
		x -= dx;
		y -= dy;
		if (fabs(dx) < 1e-10 && fabs(dy) < 1e-10)
			break;
	}
	*olon = x;
	*olat = y;
}

void
crm_gcj02_to_bd09(double lon, double lat, double *olon, double *olat)
{
	double		z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * X_PI);
	double		theta = atan2(lat, lon) + 0.000003 * cos(lon * X_PI);

	*olon = z * cos(theta) + 0.0065;
	*olat = z * sin(theta) + 0.006;
}

/* The published inverse is approximate (~1e-6 degrees); refine it by iteration. */
void
crm_bd09_to_gcj02(double lon, double lat, double *olon, double *olat)
{
	double		x = lon - 0.0065,
				y = lat - 0.006;
	double		z = sqrt(x * x + y * y) - 0.00002 * sin(y * X_PI);
	double		theta = atan2(y, x) - 0.000003 * cos(x * X_PI);

	x = z * cos(theta);
	y = z * sin(theta);
	for (int i = 0; i < 10; i++)
	{
		double		fx,
					fy;

		crm_gcj02_to_bd09(x, y, &fx, &fy);
		if (fabs(fx - lon) < 1e-12 && fabs(fy - lat) < 1e-12)
			break;
		x -= fx - lon;
		y -= fy - lat;
	}
	*olon = x;
	*olat = y;
}

static void
to_wgs84(CrmSrs from, double lon, double lat, double *olon, double *olat)
{
	double		gx,
				gy;

	switch (from)
	{
		case CRM_SRS_GCJ02:
			crm_gcj02_to_wgs84(lon, lat, olon, olat);
			return;
		case CRM_SRS_BD09:
			crm_bd09_to_gcj02(lon, lat, &gx, &gy);
			crm_gcj02_to_wgs84(gx, gy, olon, olat);
			return;
		default:
			*olon = lon;
			*olat = lat;
	}
}

static void
from_wgs84(CrmSrs to, double lon, double lat, double *olon, double *olat)
{
	double		gx,
				gy;

	switch (to)
	{
		case CRM_SRS_GCJ02:
			crm_wgs84_to_gcj02(lon, lat, olon, olat);
			return;
		case CRM_SRS_BD09:
			crm_wgs84_to_gcj02(lon, lat, &gx, &gy);
			crm_gcj02_to_bd09(gx, gy, olon, olat);
			return;
		default:
			*olon = lon;
			*olat = lat;
	}
}

/*
 * GCJ-02 <-> BD-09 is applied directly (not through WGS-84), so that Baidu
 * conversions are defined everywhere, as Baidu's own API does.
 */
void
crm_srs_transform(CrmSrs from, CrmSrs to, double lon, double lat, double *olon, double *olat)
{
	double		wx,
				wy;

	if (from == to)
	{
		*olon = lon;
		*olat = lat;
	}
	else if (from == CRM_SRS_GCJ02 && to == CRM_SRS_BD09)
		crm_gcj02_to_bd09(lon, lat, olon, olat);
	else if (from == CRM_SRS_BD09 && to == CRM_SRS_GCJ02)
		crm_bd09_to_gcj02(lon, lat, olon, olat);
	else
	{
		to_wgs84(from, lon, lat, &wx, &wy);
		from_wgs84(to, wx, wy, olon, olat);
	}
}

/* Haversine great-circle distance on the WGS-84 mean sphere, metres. */
double
crm_distance_m(double lon1, double lat1, double lon2, double lat2)
{
	double		p1 = lat1 * M_PI / 180.0,
				p2 = lat2 * M_PI / 180.0;
	double		dp = p2 - p1,
				dl = (lon2 - lon1) * M_PI / 180.0;
	double		h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	if (h > 1.0)
		h = 1.0;
	return 2.0 * CRM_EARTH_RADIUS_M * asin(sqrt(h));
}
