use super::record;
use crate::{Store, entity::user, storage, unique_or_storage};
use async_trait::async_trait;
use portico_domain::{
    AuditEvent, Change, CompanyId, DomainError, DomainResult, Permissions, User, UserId,
    repo::UserStore,
};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};

fn to_domain(m: user::Model) -> User {
    User {
        id: UserId(m.id),
        company_id: CompanyId(m.company_id),
        login_id: m.login_id,
        display_name: m.display_name,
        enabled: m.enabled,
        permissions: Permissions {
            web_services_administrator: m.web_services_administrator,
            can_administer: m.can_administer,
            staff: m.staff,
        },
        created_at: m.created_at,
        version: m.version,
    }
}

pub(super) fn to_active(u: &User) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(u.id.0),
        company_id: Set(u.company_id.0),
        login_id: Set(u.login_id.clone()),
        display_name: Set(u.display_name.clone()),
        password_hash: NotSet,
        enabled: Set(u.enabled),
        web_services_administrator: Set(u.permissions.web_services_administrator),
        can_administer: Set(u.permissions.can_administer),
        staff: Set(u.permissions.staff),
        created_at: Set(u.created_at),
        updated_at: Set(chrono::Utc::now()),
        version: Set(u.version),
    }
}

#[async_trait]
impl UserStore for Store {
    async fn insert_user(
        &self,
        u: &User,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        let mut am = to_active(u);
        am.password_hash = Set(password_hash.to_owned());
        user::Entity::insert(am).exec(&txn).await.map_err(|e| {
            unique_or_storage(e, "login_id_taken", "that login id is already in use")
        })?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn user(&self, id: UserId) -> DomainResult<Option<User>> {
        Ok(user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain))
    }

    async fn user_credentials(&self, login_id: &str) -> DomainResult<Option<(User, String)>> {
        Ok(user::Entity::find()
            .filter(user::Column::LoginId.eq(login_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|m| {
                let hash = m.password_hash.clone();
                (to_domain(m), hash)
            }))
    }

    async fn users_of(&self, company: CompanyId) -> DomainResult<Vec<User>> {
        Ok(user::Entity::find()
            .filter(user::Column::CompanyId.eq(company.0))
            .order_by_asc(user::Column::LoginId)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect())
    }

    async fn update_user(
        &self,
        expected_version: i64,
        u: &User,
        password_hash: Option<&str>,
        end_sessions: bool,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        use user::Column as C;
        let txn = self.begin().await?;
        let mut update = user::Entity::update_many()
            .col_expr(C::DisplayName, Expr::value(u.display_name.clone()))
            .col_expr(C::Enabled, Expr::value(u.enabled))
            .col_expr(
                C::WebServicesAdministrator,
                Expr::value(u.permissions.web_services_administrator),
            )
            .col_expr(C::CanAdminister, Expr::value(u.permissions.can_administer))
            .col_expr(C::Staff, Expr::value(u.permissions.staff))
            .col_expr(C::UpdatedAt, Expr::value(chrono::Utc::now()))
            .col_expr(C::Version, Expr::value(expected_version + 1))
            .filter(C::Id.eq(u.id.0))
            .filter(C::Version.eq(expected_version));
        if let Some(hash) = password_hash {
            update = update.col_expr(C::PasswordHash, Expr::value(hash.to_owned()));
        }
        if update.exec(&txn).await.map_err(storage)?.rows_affected != 1 {
            txn.rollback().await.map_err(storage)?;
            return Err(DomainError::stale("user"));
        }
        if end_sessions {
            super::sessions::delete_sessions_of(&txn, &[u.id.0]).await?;
        }
        record(&txn, audit).await?;
        self.commit(txn, &[Change::User(u.id)])
            .await
            .map_err(storage)
    }
}
