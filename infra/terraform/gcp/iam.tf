# Three service accounts with bucket-level IAM, split like the AWS roles:
#
#   writer       backup, replicate, verify: objectViewer + objectCreator (create, never
#                replace or delete), plus objectUser limited by an IAM condition to
#                <prefix>/locks/, so it can release the lock objects that backup and
#                replicate take. No other deletes.
#   drill        restore drills: objectViewer, objectUser on <prefix>/locks/ (a restore
#                holds a shared lock on the store it reads) and objectCreator on
#                <prefix>/reports/ (drill reports are kept on every store).
#   maintenance  forget and prune: objectAdmin. With versioning and soft delete, what it
#                deletes stays recoverable for noncurrent_version_expiry_days /
#                soft_delete_days; under a retention policy it cannot delete young objects.
#
# Cloud Storage counts replacing an object as deleting it: repairing a damaged copy on
# this bucket (`replicate` finding a short copy, `replicate --heal`) needs the
# maintenance account; the writer only adds missing objects.
#
# No keys are created here (a key in Terraform state is a secret in the state): give a
# host the identity through Workload Identity (GKE), an attached service account (GCE),
# workload identity federation (an external_account file for AWS or on-premises hosts),
# or a key made out of band with `gcloud iam service-accounts keys create`.

locals {
  service_accounts = {
    writer      = "firedrill backup/replicate/verify: create and read objects, release locks"
    drill       = "firedrill restore drills: read objects, write locks and reports"
    maintenance = "firedrill forget/prune: may delete objects"
  }

  # IAM conditions name objects as projects/_/buckets/BUCKET/objects/NAME.
  objects = "projects/_/buckets/${google_storage_bucket.this.name}/objects/${local.key_prefix}"

  bindings = {
    writer_read = {
      account   = "writer"
      role      = "roles/storage.objectViewer"
      condition = null
    }
    writer_create = {
      account   = "writer"
      role      = "roles/storage.objectCreator"
      condition = null
    }
    writer_locks = {
      account = "writer"
      role    = "roles/storage.objectUser"
      condition = {
        title      = "firedrill-locks-only"
        expression = "resource.name.startsWith(\"${local.objects}locks/\")"
      }
    }
    drill_read = {
      account   = "drill"
      role      = "roles/storage.objectViewer"
      condition = null
    }
    drill_locks = {
      account = "drill"
      role    = "roles/storage.objectUser"
      condition = {
        title      = "firedrill-locks-only"
        expression = "resource.name.startsWith(\"${local.objects}locks/\")"
      }
    }
    drill_reports = {
      account = "drill"
      role    = "roles/storage.objectCreator"
      condition = {
        title      = "firedrill-reports-only"
        expression = "resource.name.startsWith(\"${local.objects}reports/\")"
      }
    }
    maintenance_admin = {
      account   = "maintenance"
      role      = "roles/storage.objectAdmin"
      condition = null
    }
  }
}

resource "google_service_account" "this" {
  for_each = local.service_accounts

  account_id   = "${var.service_account_prefix}-${each.key}"
  display_name = "firedrill ${each.key}"
  description  = each.value
}

resource "google_storage_bucket_iam_member" "this" {
  for_each = local.bindings

  bucket = google_storage_bucket.this.name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.this[each.value.account].email}"

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]

    content {
      title      = condition.value.title
      expression = condition.value.expression
    }
  }
}
